"""Session reminders: the right ones, at the right time, in the member's zone, exactly once."""

import datetime as dt
import threading
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.db import connection
from icalendar import Calendar

from attendance.models import Reminder
from attendance.services.reminders import reminder_deliver, reminders_claim_due, reminders_due
from attendance.tasks import send_due_reminders
from enrollment.models import Reservation
from enrollment.services.reservations import reservation_hold
from grouport.models import OutboxMessage
from grouport.outbox import outbox_deliver, outbox_sweep
from groups.models import Group, GroupSession
from groups.services import session_cancel
from tests.factories import ALL_TRUE, GroupFactory, licensed_therapist, member, seated
from tests.mailboxes import FlakyBackend

UTC = dt.UTC


def make_group(*, starts_on, weekday, time_zone="America/New_York", start=dt.time(19, 0), **kwargs):
    with time_machine.travel(dt.datetime(2026, 1, 1, tzinfo=UTC), tick=False):
        return GroupFactory(
            starts_on=starts_on,
            weekday=weekday,
            time_zone=time_zone,
            start_time=start,
            price=Decimal("0"),
            therapist=licensed_therapist("NY", "FL", "NJ"),
            **kwargs,
        )


def kinds_due(at) -> list[tuple[int, str]]:
    return sorted((s, k) for s, _r, k in reminders_due(now=at))


def deliver(reminder_id: int) -> list[str]:
    """Deliver a reminder's outbox message as the outbox would: each failed try again once
    its back-off has passed, until it is done or failed. Return each try's outcome."""
    outcomes = []
    while True:
        message = OutboxMessage.objects.get(key=f"reminder-{reminder_id}")
        if message.status != "pending":
            return outcomes
        outcomes.append(outbox_deliver(message_id=message.pk, now=message.available_at))


@pytest.fixture
def tuesday():
    """A New York group meeting Tuesdays 7 pm from 2026-03-03 (across the March 8 change)."""
    return make_group(starts_on=dt.date(2026, 3, 3), weekday=1, weeks=4)


@pytest.mark.django_db
@pytest.mark.sqlite
def test_24_hour_reminder_edges(tuesday):
    seated(tuesday)
    session = tuesday.sessions.get(number=1)
    due_at = session.starts_at - dt.timedelta(hours=24)
    assert kinds_due(due_at - dt.timedelta(seconds=1)) == []
    assert kinds_due(due_at) == [(session.pk, "24h")]
    assert kinds_due(due_at + dt.timedelta(seconds=1)) == [(session.pk, "24h")]
    assert kinds_due(session.starts_at - dt.timedelta(hours=1, seconds=1)) == [(session.pk, "24h")]


@pytest.mark.django_db
@pytest.mark.sqlite
def test_1_hour_reminder_edges_and_nothing_once_started(tuesday):
    seated(tuesday)
    session = tuesday.sessions.get(number=1)
    hour_before = session.starts_at - dt.timedelta(hours=1)
    assert kinds_due(hour_before - dt.timedelta(seconds=1)) == [(session.pk, "24h")]
    assert kinds_due(hour_before) == [(session.pk, "1h")]
    assert kinds_due(session.starts_at - dt.timedelta(seconds=1)) == [(session.pk, "1h")]
    assert kinds_due(session.starts_at) == []


@pytest.mark.django_db
@pytest.mark.sqlite
@pytest.mark.parametrize(
    ("time_zone", "session_day", "local_before", "local_session"),
    [
        # New York, March: Sunday 8 March 2026 7 pm EDT; 24 h earlier is 6 pm EST the day before.
        ("America/New_York", dt.date(2026, 3, 8), "2026-03-07 18:00 EST", "2026-03-08 19:00 EDT"),
        # Chicago, November: Sunday 1 November 2026 7 pm CST; 24 h earlier is 8 pm CDT.
        ("America/Chicago", dt.date(2026, 11, 1), "2026-10-31 20:00 CDT", "2026-11-01 19:00 CST"),
        ("America/New_York", dt.date(2026, 11, 1), "2026-10-31 20:00 EDT", "2026-11-01 19:00 EST"),
        ("America/Chicago", dt.date(2026, 3, 8), "2026-03-07 18:00 CST", "2026-03-08 19:00 CDT"),
    ],
)
def test_reminders_are_a_real_24_hours_early_across_dst(time_zone, session_day, local_before, local_session):
    group = make_group(starts_on=session_day, weekday=6, time_zone=time_zone, weeks=1)
    seated(group)
    session = group.sessions.get()
    zone = ZoneInfo(time_zone)
    assert session.starts_at.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z") == local_session
    due_at = session.starts_at - dt.timedelta(hours=24)
    assert due_at.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z") == local_before
    assert kinds_due(due_at - dt.timedelta(minutes=1)) == []
    assert kinds_due(due_at) == [(session.pk, "24h")]


@pytest.mark.django_db
@pytest.mark.sqlite
def test_the_email_shows_the_members_own_zone_module_link_cancel_and_crisis(
    django_capture_on_commit_callbacks,
):
    group = make_group(starts_on=dt.date(2026, 3, 3), weekday=1, weeks=2, kind=Group.Kind.SKILLS)
    california = member(state="CA")
    reservation = seated(group, california)
    other = seated(group)
    session = group.sessions.get(number=1)
    with time_machine.travel(session.starts_at - dt.timedelta(hours=2), tick=False):
        for reminder_id in reminders_claim_due():
            deliver(reminder_id)
    message = next(m for m in mail.outbox if m.to == [california.email])
    # The subject is what a lock screen shows: when, never what kind of group.
    assert message.subject == "Reminder: your group meets today at 4:00 PM"
    assert group.title not in message.subject
    assert "Tuesday, March 3, 4:00 PM PST" in message.body
    assert "This week: DBT core principles" in message.body
    assert group.video_url not in message.body and "/join/" in message.body
    assert f"/reservations/{reservation.pk}/cancel/" in message.body
    assert "988" in message.body and "911" in message.body
    html = message.alternatives[0][0]
    assert "4:00 PM PST" in html and "988" in html
    [(name, content, mimetype)] = message.attachments
    assert mimetype == "text/calendar; method=PUBLISH" and name == f"session-{session.pk}.ics"
    text = content if isinstance(content, str) else content.decode()
    assert california.email in text and other.member.email not in text
    [event] = Calendar.from_ical(text).walk("VEVENT")
    assert event.decoded("dtstart") == session.starts_at


@pytest.mark.django_db
@pytest.mark.sqlite
def test_running_the_job_twice_claims_and_sends_once(tuesday, django_capture_on_commit_callbacks):
    seated(tuesday)
    seated(tuesday)
    session = tuesday.sessions.get(number=1)
    with (
        time_machine.travel(session.starts_at - dt.timedelta(hours=3), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert send_due_reminders.apply().get() == 2
        assert send_due_reminders.apply().get() == 0
    assert len(mail.outbox) == 2
    assert OutboxMessage.objects.filter(kind="attendance.reminder", status="done").count() == 2
    assert set(Reminder.objects.values_list("status", flat=True)) == {"sent"}


@pytest.mark.django_db
@pytest.mark.sqlite
def test_a_member_who_joins_after_the_24_hour_mark_gets_only_the_1_hour_one(tuesday):
    session = tuesday.sessions.get(number=1)
    seated(tuesday, at=session.starts_at - dt.timedelta(hours=5))
    assert kinds_due(session.starts_at - dt.timedelta(hours=4)) == []
    assert kinds_due(session.starts_at - dt.timedelta(minutes=30)) == [(session.pk, "1h")]


@pytest.mark.django_db
@pytest.mark.sqlite
def test_no_reminders_for_cancelled_sessions_or_reservations_or_unconfirmed_seats(tuesday):
    kept = seated(tuesday)
    dropped = seated(tuesday)
    with time_machine.travel(dt.datetime(2026, 1, 2, tzinfo=UTC), tick=False):
        reservation_hold(member=member(), group=tuesday, attestations=ALL_TRUE)  # held, never paid
        Reservation.objects.filter(pk=dropped.pk).update(status=Reservation.Status.CANCELLED)
    first, second = tuesday.sessions.get(number=1), tuesday.sessions.get(number=2)
    GroupSession.objects.filter(pk=second.pk).update(status=GroupSession.Status.CANCELLED)
    assert [r for _s, r, _k in reminders_due(now=first.starts_at - dt.timedelta(hours=2))] == [kept.pk]
    assert reminders_due(now=second.starts_at - dt.timedelta(hours=2)) == []


@pytest.mark.django_db
@pytest.mark.sqlite
def test_a_reminder_claimed_before_its_session_was_cancelled_is_skipped(tuesday):
    seated(tuesday)
    session = tuesday.sessions.get(number=1)
    with time_machine.travel(session.starts_at - dt.timedelta(hours=2), tick=False):
        [reminder_id] = reminders_claim_due()
        GroupSession.objects.filter(pk=session.pk).update(status=GroupSession.Status.CANCELLED)
        assert deliver(reminder_id) == ["done"]
    assert Reminder.objects.get(pk=reminder_id).status == "skipped"
    assert mail.outbox == []


@pytest.mark.django_db
@pytest.mark.sqlite
def test_a_send_failing_twice_then_succeeding_sends_one_email(tuesday, settings):
    settings.EMAIL_BACKEND = "tests.mailboxes.FlakyBackend"
    FlakyBackend.failures, FlakyBackend.attempts = 2, 0
    seated(tuesday)
    session = tuesday.sessions.get(number=1)
    with time_machine.travel(session.starts_at - dt.timedelta(hours=2), tick=False):
        [reminder_id] = reminders_claim_due()
        assert Reminder.objects.get().status == "pending"
        assert deliver(reminder_id) == ["pending", "pending", "done"]
        assert Reminder.objects.get().status == "sent"
        assert FlakyBackend.attempts == 3 and len(mail.outbox) == 1
        assert reminder_deliver(reminder_id=reminder_id) == "sent" and len(mail.outbox) == 1  # never twice


@pytest.mark.django_db
@pytest.mark.sqlite
def test_a_send_that_keeps_failing_gives_up_and_is_marked_failed(tuesday, settings):
    settings.EMAIL_BACKEND = "tests.mailboxes.FlakyBackend"
    FlakyBackend.failures, FlakyBackend.attempts = 100, 0
    seated(tuesday)
    session = tuesday.sessions.get(number=1)
    with time_machine.travel(session.starts_at - dt.timedelta(hours=2), tick=False):
        [reminder_id] = reminders_claim_due()
        outcomes = deliver(reminder_id)
    assert outcomes == ["pending"] * 4 + ["failed"]
    reminder = Reminder.objects.get()
    assert reminder.status == "failed" and reminder.last_error
    assert FlakyBackend.attempts == 5 and mail.outbox == []
    message = OutboxMessage.objects.get(key=f"reminder-{reminder_id}")
    assert message.status == "failed" and message.attempts == 5  # for staff, in the admin


@pytest.mark.django_db
@pytest.mark.sqlite
def test_a_send_left_hanging_by_a_dead_worker_is_never_repeated(tuesday):
    seated(tuesday)
    session = tuesday.sessions.get(number=1)
    at = session.starts_at - dt.timedelta(hours=3)
    with time_machine.travel(at, tick=False):
        [reminder_id] = reminders_claim_due()
        # A worker claimed the message and died mid-send: its lease runs out.
        OutboxMessage.objects.filter(key=f"reminder-{reminder_id}").update(
            status="sending", attempts=1, lease_until=at + dt.timedelta(minutes=5)
        )
    with time_machine.travel(at + dt.timedelta(minutes=30), tick=False):
        outbox_sweep()
        outbox_sweep()
    assert OutboxMessage.objects.get(key=f"reminder-{reminder_id}").status == "failed"
    reminder = Reminder.objects.get()
    assert reminder.status == "failed" and reminder.last_error == "worker stopped while delivering"
    assert not [m for m in mail.outbox if m.subject.startswith("Reminder")]


@pytest.mark.django_db
@pytest.mark.sqlite
def test_cancelling_a_session_notifies_confirmed_members_once(tuesday, django_capture_on_commit_callbacks):
    a, b = seated(tuesday), seated(tuesday)
    session = tuesday.sessions.get(number=2)
    with (
        time_machine.travel(session.starts_at - dt.timedelta(days=2), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        session_cancel(session=session, actor=None, note="Therapist is unwell; see you next week.")
        session_cancel(session=session, actor=None)
    assert sorted(m.to[0] for m in mail.outbox) == sorted([a.member.email, b.member.email])
    assert all(
        m.subject.startswith("Your session on ") and "see you next week" in m.body for m in mail.outbox
    )
    assert Reminder.objects.filter(kind="cancelled", status="sent").count() == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_jobs_at_once_claim_each_reminder_once(tuesday):
    Group.objects.filter(pk=tuesday.pk).update(capacity=50)
    for _ in range(20):
        seated(tuesday)
    session = tuesday.sessions.get(number=1)
    at = session.starts_at - dt.timedelta(hours=3)
    barrier, claims = threading.Barrier(2), []

    def job():
        try:
            barrier.wait()
            claims.append(reminders_claim_due(now=at))
        finally:
            connection.close()

    threads = [threading.Thread(target=job) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    all_claimed = claims[0] + claims[1]
    assert len(all_claimed) == 20 and len(set(all_claimed)) == 20
    assert Reminder.objects.count() == 20


@pytest.mark.django_db
def test_the_job_runs_the_same_number_of_queries_for_3_or_30_members(tuesday):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    Group.objects.filter(pk=tuesday.pk).update(capacity=50)
    session = tuesday.sessions.get(number=1)
    at = session.starts_at - dt.timedelta(minutes=30)
    for _ in range(3):
        seated(tuesday)
    with CaptureQueriesContext(connection) as few:
        assert len(reminders_claim_due(now=at)) == 3
    Reminder.objects.all().delete()
    for _ in range(27):
        seated(tuesday)
    with CaptureQueriesContext(connection) as many:
        assert len(reminders_claim_due(now=at)) == 30
    assert len(many) == len(few)


@pytest.mark.django_db
@pytest.mark.sqlite
def test_a_claim_whose_send_was_never_queued_is_delivered_by_the_sweeper(tuesday):
    seated(tuesday)
    session = tuesday.sessions.get(number=1)
    with time_machine.travel(session.starts_at - dt.timedelta(hours=3), tick=False):
        [reminder_id] = reminders_claim_due()  # claimed; the queue message is then lost
    with time_machine.travel(session.starts_at - dt.timedelta(hours=2, minutes=40), tick=False):
        assert send_due_reminders.apply().get() == 0  # not claimed twice
        outbox_sweep()
        outbox_sweep()
    assert Reminder.objects.get(pk=reminder_id).status == "sent"
    assert len([m for m in mail.outbox if m.subject.startswith("Reminder")]) == 1


@pytest.mark.django_db
@pytest.mark.sqlite
def test_a_claim_and_its_outbox_message_are_one_write(tuesday, monkeypatch):
    """A claim without its message would never be sent; a message without its claim could
    be claimed again. Either both are written or neither."""
    import attendance.services.reminders as reminders

    seated(tuesday)
    session = tuesday.sessions.get(number=1)

    def broken(**kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(reminders, "outbox_add_many", broken)
    with time_machine.travel(session.starts_at - dt.timedelta(hours=3), tick=False):
        with pytest.raises(RuntimeError):
            reminders_claim_due()
        assert not Reminder.objects.exists()
        monkeypatch.undo()
        [reminder_id] = reminders_claim_due()
    assert OutboxMessage.objects.filter(key=f"reminder-{reminder_id}").count() == 1
