"""Session reminders and cancellation notices: claimed once in the database, sent once.

The periodic job (``reminders_claim_due``) reads the database; nothing is scheduled days
ahead in the broker. For each reminder that has come due it inserts a ``Reminder`` row and,
in the same transaction, one outbox message (``attendance.reminder``). The unique
(session, reservation, kind) row is the claim: two runs, or two workers at once, claim each
reminder once, so each has one message.

Delivery is the outbox's, like every other side effect: queued after the commit, swept up
if the broker lost it, retried with back-off when the email fails, failed for staff after
its last try. A worker that dies mid-send leaves the message "sending"; it is not
``retry_safe``, so when its lease runs out it is marked failed rather than sent again. We
chose **at most once**: a repeat of a health-group email is worse than one missing reminder
(the member still has "My groups" and the calendar file). The reminder row follows its
message: sent, skipped (not wanted any more when its turn came), or failed.
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
from grouport.outbox import outbox_add_many
from grouport.states import default_time_zone
from grouport.templatetags.grouport import when
from grouport.transitions import transition, transition_rows
from groups.models import GroupSession
from texting import words as text_words
from texting.models import TextMessage, TextSubscription
from texting.services import (
    may_text_now,
    receiving_q,
    subscription_of,
    subscription_state,
    text_deliver,
    text_queue,
)

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
    return due + text_reminders_due(now=now)


def text_reminders_due(*, now: dt.datetime) -> list[tuple[int, int, str]]:
    """Return (session id, reservation id, "text") for every reminder text due now: members
    who asked for texts, confirmed, a session starting within ``TEXT_REMINDER_MINUTES``, not
    excused, not claimed; and not in quiet hours where the member lives, unless the session
    itself is then (its reminder cannot wait for morning). One query."""
    lead = dt.timedelta(minutes=settings.TEXT_REMINDER_MINUTES)
    session = OuterRef("group__sessions__pk")
    rows = Reservation.objects.filter(
        ~Exists(
            Reminder.objects.filter(reservation=OuterRef("pk"), session=session, kind=Reminder.Kind.TEXT)
        ),
        ~Exists(
            Attendance.objects.filter(
                reservation=OuterRef("pk"), session=session, status=Attendance.Status.EXCUSED
            )
        ),
        receiving_q("member__text_subscription__"),
        status=Reservation.Status.CONFIRMED,
        group__sessions__status=GroupSession.Status.SCHEDULED,
        group__sessions__starts_at__gt=now,
        group__sessions__starts_at__lte=now + lead,
    ).values_list(
        "group__sessions__pk", "pk", "group__sessions__starts_at", "member__time_zone", "member__state"
    )
    return [
        (session_id, reservation_id, Reminder.Kind.TEXT)
        for session_id, reservation_id, starts_at, zone, state in rows
        # A session at 8:00 sharp starts as quiet hours end: it counts as in them.
        if may_text_now(
            now=now, zone=zone or default_time_zone(state), about=starts_at - dt.timedelta(seconds=1)
        )
    ]


REMINDER_MESSAGE = "attendance.reminder"


def reminders_claim(*, keys: list[tuple[int, int, str]], now: dt.datetime) -> list[int]:
    """Insert reminder rows for ``keys``, each with its outbox message; return the ids of the
    ones this call claimed.

    Rows another run already claimed are skipped by the unique constraint, so two callers
    never both get the same reminder. Four statements whatever the number of reminders.
    """
    if not keys:
        return []
    batch = uuid.uuid4().hex
    with transaction.atomic():
        Reminder.objects.bulk_create(
            [
                Reminder(session_id=s, reservation_id=r, kind=k, batch=batch, created_at=now)
                for s, r, k in keys
            ],
            ignore_conflicts=True,
        )
        claimed = list(Reminder.objects.filter(batch=batch).values_list("pk", flat=True))
        outbox_add_many(
            kind=REMINDER_MESSAGE,
            messages=[({"reminder": pk}, f"reminder-{pk}") for pk in claimed],
        )
    return claimed


def reminders_claim_due(*, now: dt.datetime | None = None) -> list[int]:
    """The periodic job: claim every reminder that is due (its email goes by the outbox)."""
    now = now or timezone.now()
    claimed = reminders_claim(keys=reminders_due(now=now), now=now)
    if claimed:
        logger.info("%d reminders claimed", len(claimed))
    return claimed


def reminder_deliver(*, reminder_id: int, now: dt.datetime | None = None) -> str:
    """Send one claimed reminder, if it is still wanted; return the reminder's new status.

    Run by its outbox message (``attendance/outbox.py``), which makes sure of once: a
    failure raises, and the outbox tries again later; a reminder no longer pending sends
    nothing.
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
        by_text = reminder.kind == Reminder.Kind.TEXT
        still_wanted = reservation.status == Reservation.Status.CONFIRMED and (
            cancellation
            or (
                session.status == GroupSession.Status.SCHEDULED
                and session.starts_at > now
                and not reminder.excused  # no "see you soon" for a session they can't make
            )
        )
        if by_text and still_wanted:
            subscription = subscription_of(reservation.member)
            still_wanted = subscription_state(subscription) == TextSubscription.Status.ON
        if not still_wanted:
            transition(reminder, to=Reminder.Status.SKIPPED, audit=False)
            return reminder.status
    if by_text:
        sent = _deliver_text(reminder, subscription.phone)
        if sent != TextMessage.Status.SENT:
            # Blocked (the number replied STOP meanwhile): not needed. Refused (not a mobile),
            # or no answer (it may have gone; never sent twice): failed, for staff.
            status = Reminder.Status.SKIPPED if sent == TextMessage.Status.BLOCKED else Reminder.Status.FAILED
            transition_rows(
                Reminder.objects.filter(pk=reminder.pk),
                old=Reminder.Status.PENDING,
                to=status,
                last_error=f"text {sent}",
            )
            return status
    else:
        _deliver(reminder)
    transition_rows(
        Reminder.objects.filter(pk=reminder.pk),
        old=Reminder.Status.PENDING,
        to=Reminder.Status.SENT,
        sent_at=timezone.now(),
        last_error="",
    )
    logger.info("reminder %s (%s) sent for session %s", reminder.pk, reminder.kind, session.pk)
    return Reminder.Status.SENT


def reminder_gave_up(*, reminder_id: int, error: str) -> None:
    """Its message failed for good (out of tries, or its worker died mid-send): the reminder
    says so too, for staff."""
    transition_rows(
        Reminder.objects.filter(pk=reminder_id),
        old=Reminder.Status.PENDING,
        to=Reminder.Status.FAILED,
        last_error=error[:200],
    )


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
    member_tz = member.zone
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


def _deliver_text(reminder: Reminder, phone: str) -> str:
    """The member's reminder text, in their language and zone, with their own join link and
    no word of what the group is: "Your group meets at 7:00 PM. Join: …"."""
    session, reservation = reminder.session, reminder.reservation
    member = reservation.member
    language = member.language or settings.LANGUAGE_CODE
    with translation.override(language):
        # With its zone (EST, PST): a member travelling reads it right.
        time = when(session.starts_at.astimezone(ZoneInfo(member.zone)), "time_tz")
    body = text_words.reminder_text(
        language, time=time, link=join_url(reservation_id=reservation.pk, session_id=session.pk)
    )
    message = text_queue(
        key=f"reminder-{reminder.pk}", to=phone, purpose=TextMessage.Purpose.REMINDER, member=member
    )
    return text_deliver(message_id=message.pk, body=body)


def session_cancelled_notify(*, session: GroupSession, now: dt.datetime) -> list[int]:
    """Claim one cancellation notice per confirmed member of a cancelled session.

    Called inside the cancellation's transaction (attendance hears groups'
    ``session_cancelled``), so the claims and their outbox messages commit with it.
    """
    members = Reservation.objects.filter(group_id=session.group_id, status=Reservation.Status.CONFIRMED)
    return reminders_claim(
        keys=[
            (session.pk, pk, Reminder.Kind.SESSION_CANCELLED) for pk in members.values_list("pk", flat=True)
        ],
        now=now,
    )
