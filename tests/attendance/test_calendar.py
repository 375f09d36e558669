"""Calendar files that follow the sessions: a change bumps SEQUENCE, a cancellation is sent
as METHOD:CANCEL for the same event, and a seat that ends takes its sessions out."""

import datetime as dt

import pytest
import time_machine
from django.core import mail
from icalendar import Calendar

from attendance.calendar import event_uid
from enrollment.services.reservations import reservation_cancel
from groups.models import Group, GroupSession
from groups.services import group_save, session_cancel
from tests.factories import GroupFactory, licensed_therapist, seated

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]


@pytest.fixture
def seat():
    group = GroupFactory(therapist=licensed_therapist("NY"), price=0, kind=Group.Kind.SKILLS)
    return seated(group, at=None)


def events(raw: bytes | str) -> tuple[str, dict]:
    calendar = Calendar.from_ical(raw)
    return str(calendar["method"]), {str(e["uid"]): e for e in calendar.walk("VEVENT")}


def downloaded(client, seat) -> tuple[str, dict]:
    client.force_login(seat.member)
    return events(client.get(f"/reservations/{seat.pk}/calendar.ics").content)


def test_every_change_of_a_session_bumps_its_sequence_in_the_calendar(client, seat):
    session = seat.group.sessions.get(number=3)
    uid = event_uid(reservation=seat, session=session)
    method, before = downloaded(client, seat)
    assert method == "PUBLISH" and before[uid]["sequence"] == 0
    group = Group.objects.get(pk=seat.group_id)
    group.start_time = dt.time(20, 0)  # staff move the weekly slot an hour later
    group_save(group=group)
    _method, moved = downloaded(client, seat)
    assert moved[uid]["sequence"] == 1 and moved[uid].decoded("dtstart") > before[uid].decoded("dtstart")
    session_cancel(session=GroupSession.objects.get(pk=session.pk), actor=None)
    _method, cancelled = downloaded(client, seat)
    assert cancelled[uid]["sequence"] == 2 and cancelled[uid]["status"] == "CANCELLED"


def test_the_cancellation_notice_takes_the_session_out_of_the_calendar(
    seat, django_capture_on_commit_callbacks
):
    session = seat.group.sessions.get(number=2)
    with (
        time_machine.travel(session.starts_at - dt.timedelta(days=2), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        session_cancel(session=session, actor=None)
    [message] = [m for m in mail.outbox if m.to == [seat.member.email]]
    [(_name, content, mimetype)] = message.attachments
    assert mimetype == "text/calendar; method=CANCEL"
    method, found = events(content)
    event = found[event_uid(reservation=seat, session=session)]
    assert method == "CANCEL" and event["status"] == "CANCELLED" and event["sequence"] == 1
    assert "organizer" in event and seat.member.email in str(event["attendee"])


def test_a_seat_that_ends_takes_its_sessions_to_come_out_of_the_calendar(
    seat, django_capture_on_commit_callbacks
):
    first = seat.group.sessions.get(number=1)
    with (
        time_machine.travel(first.ends_at + dt.timedelta(hours=1), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        reservation_cancel(reservation=seat, actor=seat.member)
    [message] = [m for m in mail.outbox if m.to == [seat.member.email] and m.attachments]
    [(_name, content, mimetype)] = message.attachments
    method, found = events(content)
    assert method == "CANCEL" and mimetype == "text/calendar; method=CANCEL"
    numbers = sorted(int(str(e["summary"]).split()[-1].rstrip(")")) for e in found.values())
    assert numbers == list(range(2, seat.group.weeks + 1))  # the one already held stays
    assert all(e["sequence"] == 1 and e["status"] == "CANCELLED" for e in found.values())
