"""Session reminders and cancellation notices: claimed once in the database, sent once.

The periodic job (``reminders_claim_due``) reads the database; nothing is scheduled days
ahead in the broker. For each reminder that has come due it inserts a ``Reminder`` row;
the unique (session, reservation, kind) constraint means two runs, or two workers at once,
claim each reminder once, and only the claimer queues the send.

What happens when a worker dies between sending and recording: the row stays "sending".
We chose **at most once**: a reminder is never sent a second time after it may already have
gone out, because a repeat of a health-group email is worse than one missing reminder (the
member still has "My groups" and the calendar file). A send left "sending" for longer than
``REMINDER_STUCK_MINUTES`` is marked failed, for staff to see in the admin.
"""

import datetime as dt
import logging
import uuid
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import dateformat, timezone, translation
from django.utils.translation import gettext

from attendance.calendar import CANCEL, PUBLISH, reservation_calendar
from attendance.join import join_url
from attendance.lock_objects import lock_reminder
from attendance.models import Attendance, Reminder
from enrollment.models import Reservation
from grouport.emails import email_send
from grouport.models import User
from grouport.outbox import publish_on_commit
from grouport.states import default_time_zone
from grouport.transitions import transition, transition_rows
from groups.models import GroupSession

logger = logging.getLogger(__name__)


def reminder_kind(hours: int) -> str:
    return f"{hours}h"


def reminder_windows() -> list[tuple[str, dt.timedelta, dt.timedelta]]:
    """Return (kind, opens before the session, closes before it) for each configured reminder.

    The 24-hour reminder is due from 24 hours before until the 1-hour one takes over; the
    last one stays due until the session starts.
    """
    hours = sorted(set(settings.REMINDER_HOURS_BEFORE), reverse=True)
    closes = [*hours[1:], 0]
    return [
        (reminder_kind(h), dt.timedelta(hours=h), dt.timedelta(hours=c))
        for h, c in zip(hours, closes, strict=True)
    ]


def reminders_due(*, now: dt.datetime) -> list[tuple[int, int, str]]:
    """Return (session id, reservation id, kind) for every reminder due now and not yet claimed.

    One query per configured reminder, whatever the number of members. A member confirmed
    after a reminder came due is skipped for that one (a "24 hours" note six hours before
    is noise); the last reminder goes to everyone confirmed before the session starts.
    """
    due: list[tuple[int, int, str]] = []
    windows = reminder_windows()
    for index, (kind, opens, closes) in enumerate(windows):
        # One filter() call, so every condition speaks of the same session row (the join).
        conditions = Q(
            status=Reservation.Status.CONFIRMED,
            group__sessions__status=GroupSession.Status.SCHEDULED,
            group__sessions__starts_at__gt=now + closes,
            group__sessions__starts_at__lte=now + opens,
        )
        if index < len(windows) - 1:
            conditions &= Q(confirmed_at__lte=F("group__sessions__starts_at") - opens)
        claimed = Reminder.objects.filter(
            reservation=OuterRef("pk"), session=OuterRef("group__sessions__pk"), kind=kind
        )
        rows = Reservation.objects.filter(conditions, ~Exists(claimed)).values_list(
            "group__sessions__pk", "pk"
        )
        due.extend((session_id, reservation_id, kind) for session_id, reservation_id in rows)
    return due


def reminders_claim(*, keys: list[tuple[int, int, str]], now: dt.datetime) -> list[int]:
    """Insert reminder rows for ``keys``; return the ids of the ones this call claimed.

    Rows another run already claimed are skipped by the unique constraint, so two callers
    never both get the same reminder. Three statements whatever the number of reminders.
    """
    if not keys:
        return []
    batch = uuid.uuid4().hex
    Reminder.objects.bulk_create(
        [Reminder(session_id=s, reservation_id=r, kind=k, batch=batch, created_at=now) for s, r, k in keys],
        ignore_conflicts=True,
    )
    return list(Reminder.objects.filter(batch=batch).values_list("pk", flat=True))


def reminders_claim_due(*, now: dt.datetime | None = None) -> list[int]:
    """The periodic job: claim every reminder that is due, and give up on stuck sends."""
    now = now or timezone.now()
    reminders_fail_stuck(now=now)
    claimed = reminders_claim(keys=reminders_due(now=now), now=now)
    if claimed:
        logger.info("%d reminders claimed", len(claimed))
    return claimed


def reminders_stalled(*, now: dt.datetime) -> list[int]:
    """Return claimed reminders whose send never started (a lost queue message, a crash
    between claiming and queuing). Queuing them again is safe: a send starts only from
    "pending", under the row lock."""
    return list(
        Reminder.objects.filter(
            status=Reminder.Status.PENDING,
            updated_at__lt=now - dt.timedelta(minutes=15),
            session__starts_at__gt=now,
        ).values_list("pk", flat=True)[:5000]
    )


def reminders_fail_stuck(*, now: dt.datetime) -> int:
    stuck = Reminder.objects.filter(
        updated_at__lt=now - dt.timedelta(minutes=settings.REMINDER_STUCK_MINUTES),
    )
    count = transition_rows(
        stuck,
        old=Reminder.Status.SENDING,
        to=Reminder.Status.FAILED,
        now=now,
        last_error="worker stopped while sending",
    )
    if count:
        logger.warning("%d reminders stuck while sending marked failed", count)
    return count


class ReminderSendError(Exception):
    """Sending failed and may be tried again."""


def reminder_send(*, reminder_id: int, now: dt.datetime | None = None) -> str:
    """Send one claimed reminder, if it is still wanted. Return the reminder's new status.

    The row moves pending → sending before the email and sending → sent after it, each in
    its own short transaction; a second call for the same row sends nothing.
    """
    now = now or timezone.now()
    with transaction.atomic():
        reminder = lock_reminder(
            Reminder.objects.select_related(
                "session", "session__group", "reservation", "reservation__member", "reservation__group"
            )
            # They told us they can't make this one: asked in the same query, not one more.
            .annotate(
                excused=Exists(
                    Attendance.objects.filter(
                        session_id=OuterRef("session_id"),
                        reservation_id=OuterRef("reservation_id"),
                        status=Attendance.Status.EXCUSED,
                    )
                )
            ),
            reminder_id,
        )
        if reminder.status != Reminder.Status.PENDING:
            return reminder.status
        session, reservation = reminder.session, reminder.reservation
        cancellation = reminder.kind == Reminder.Kind.SESSION_CANCELLED
        still_wanted = reservation.status == Reservation.Status.CONFIRMED and (
            cancellation
            or (
                session.status == GroupSession.Status.SCHEDULED
                and session.starts_at > now
                and not reminder.excused  # no "see you soon" for a session they can't make
            )
        )
        if not still_wanted:
            transition(reminder, to=Reminder.Status.SKIPPED, audit=False)
            return reminder.status
        reminder.attempts += 1
        transition(reminder, to=Reminder.Status.SENDING, fields=("attempts",), audit=False)
    try:
        _deliver(reminder)
    except Exception as exc:
        gave_up = reminder.attempts >= settings.REMINDER_MAX_ATTEMPTS
        transition_rows(
            Reminder.objects.filter(pk=reminder.pk),
            old=Reminder.Status.SENDING,
            to=Reminder.Status.FAILED if gave_up else Reminder.Status.PENDING,
            last_error=type(exc).__name__[:200],
        )
        logger.warning(
            "reminder %s attempt %d failed: %s", reminder.pk, reminder.attempts, type(exc).__name__
        )
        if gave_up:
            return Reminder.Status.FAILED
        raise ReminderSendError(str(reminder.pk)) from exc
    transition_rows(
        Reminder.objects.filter(pk=reminder.pk),
        old=Reminder.Status.SENDING,
        to=Reminder.Status.SENT,
        sent_at=timezone.now(),
        last_error="",
    )
    logger.info("reminder %s (%s) sent for session %s", reminder.pk, reminder.kind, session.pk)
    return Reminder.Status.SENT


def relative_day(starts_at: dt.datetime, time_zone: str, now: dt.datetime) -> str:
    """Say when a session is on the member's own calendar, in the active language:
    "today", "tomorrow", "on Friday"."""
    zone = ZoneInfo(time_zone)
    local = starts_at.astimezone(zone)
    days = (local.date() - now.astimezone(zone).date()).days
    if days == 0:
        return gettext("today")
    if days == 1:
        return gettext("tomorrow")
    return gettext("on %(weekday)s") % {"weekday": dateformat.format(local, "l")}


def _when_for(member: User, starts_at: dt.datetime, member_tz: str) -> str:
    with translation.override(member.language or settings.LANGUAGE_CODE):
        return relative_day(starts_at, member_tz, timezone.now())


def _deliver(reminder: Reminder) -> None:
    session, reservation = reminder.session, reminder.reservation
    group = session.group
    member = reservation.member
    cancelled = reminder.kind == Reminder.Kind.SESSION_CANCELLED
    # A cancelled session leaves the member's calendar (METHOD:CANCEL, its sequence bumped).
    method = CANCEL if cancelled else PUBLISH
    calendar = reservation_calendar(reservation=reservation, sessions=[session], method=method)
    member_tz = member.time_zone or default_time_zone(member.state)
    email_send(
        to=member,
        template="session_cancelled" if cancelled else "session_reminder",
        context={
            "session": session,
            "group": group,
            "reservation": reservation,
            "kind": reminder.kind,
            # The member's own link for this session; the group's video link is never emailed.
            "join_url": join_url(reservation_id=reservation.pk, session_id=session.pk),
            # Subjects show on lock screens: when, never what kind of group.
            "when": _when_for(member, session.starts_at, member_tz),
        },
        attachments=[(f"session-{session.pk}.ics", calendar, f"text/calendar; method={method}")],
    )


def session_cancelled_notify(*, session: GroupSession, now: dt.datetime) -> list[int]:
    """Claim one cancellation notice per confirmed member of a cancelled session.

    Called inside the cancellation's transaction (enrollment hears groups'
    ``session_cancelled``), so the claims commit with it; the sends are queued after the
    commit, and a send the broker never got is queued again by ``reminders_stalled``.
    """
    members = Reservation.objects.filter(group_id=session.group_id, status=Reservation.Status.CONFIRMED)
    claimed = reminders_claim(
        keys=[
            (session.pk, pk, Reminder.Kind.SESSION_CANCELLED) for pk in members.values_list("pk", flat=True)
        ],
        now=now,
    )
    for reminder_id in claimed:
        publish_on_commit("attendance.tasks.send_reminder", reminder_id)
    return claimed
