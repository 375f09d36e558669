"""A clinician's decision on missed sessions, from the roster: audited under them, from where they were."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from attendance.models import AttendanceFlag
from attendance.services.attendance import sessions_close
from enrollment.models import Reservation
from grouport.models import AuditEntry, OutboxMessage
from grouport.outbox import outbox_deliver
from grouport.roles import THERAPIST, role_grant
from tests.factories import GroupFactory, licensed_therapist, seated, sign_in

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]
IP = "203.0.113.9"


@pytest.fixture
def seat():
    """A confirmed seat whose member missed sessions in a row (the group's limit is four)."""
    with time_machine.travel(dt.datetime(2026, 1, 1, tzinfo=dt.UTC), tick=False):
        group = GroupFactory(
            therapist=licensed_therapist("NY"), starts_on=dt.date(2026, 3, 3), weekday=1, price=Decimal("0")
        )
    reservation = seated(group)
    role_grant(group.therapist.user, THERAPIST)
    return reservation


def miss(reservation, *numbers: int) -> None:
    for number in numbers:
        s = reservation.group.sessions.get(number=number)
        with time_machine.travel(s.ends_at + dt.timedelta(minutes=1), tick=False):
            sessions_close()
            for message_id in OutboxMessage.objects.filter(status="pending").values_list("pk", flat=True):
                outbox_deliver(message_id=message_id)


def decide(client, reservation, flag, **form):
    url = f"/admin/groups/group/{reservation.group_id}/roster/attendance-flags/{flag.pk}/"
    return client.post(url, form, REMOTE_ADDR=IP)


def decisions() -> list[tuple]:
    """The audit entries a person wrote about attendance flags and seats."""
    return list(
        AuditEntry.objects.filter(actor__isnull=False, action__regex=r"^(attendanceflag|reservation)\.")
        .exclude(action__in=["reservation.held", "reservation.confirmed"])
        .order_by("pk")
        .values_list("action", "object_id", "actor_id", "ip_address", "data")
    )


def test_keeping_a_seat_is_audited_under_the_clinician_with_their_note_and_address(client, seat):
    miss(seat, 1, 2)
    flag = AttendanceFlag.objects.get(reservation=seat, status="open")
    clinician = seat.group.therapist.user
    sign_in(client, clinician)
    decide(client, seat, flag, decision="reviewed", note="Spoke with them; back next week.")
    flag.refresh_from_db()
    assert flag.status == AttendanceFlag.Status.REVIEWED and flag.reviewed_by == clinician
    assert decisions() == [
        (
            "attendanceflag.reviewed",
            str(flag.pk),
            clinician.pk,
            IP,
            {"from": "open", "to": "reviewed", "reservation": seat.pk, "misses": 2},
        )
    ]
    assert Reservation.objects.get(pk=seat.pk).status == Reservation.Status.CONFIRMED


def test_ending_a_seat_is_audited_only_once_confirmed_under_the_clinician(client, seat):
    miss(seat, 1, 2, 3, 4)
    flag = AttendanceFlag.objects.get(reservation=seat, status="open")
    assert flag.limit_reached
    clinician = seat.group.therapist.user
    sign_in(client, clinician)
    decide(client, seat, flag, decision="end_seat", note="Called twice")
    assert decisions() == []  # the first click only asks again
    decide(client, seat, flag, decision="end_seat", note="Called twice", confirmed="yes")
    assert decisions() == [
        (
            "attendanceflag.seat_ended",
            str(flag.pk),
            clinician.pk,
            IP,
            {"from": "open", "to": "seat_ended", "reservation": seat.pk, "misses": 4},
        ),
        (
            "reservation.cancelled",
            str(seat.pk),
            clinician.pk,
            IP,
            {"from": "confirmed", "to": "cancelled", "group": seat.group_id},
        ),
    ]
