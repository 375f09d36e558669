"""A member's own calendar file for a group: its sessions, naming nobody else.

Each session is one event whose UID is the member's seat and the session; its SEQUENCE is the
session's (one more at every change of time or status, ``groups/services.py``), so a calendar
that imported it takes the new version. A cancelled session, or a seat that ended, is sent as
``METHOD:CANCEL`` for the same UIDs, so it leaves the member's calendar.
"""

import datetime as dt
from email.utils import parseaddr

from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from icalendar import Calendar, Event, vCalAddress

from attendance.join import join_url
from enrollment.models import Reservation
from groups.models import GroupSession

PUBLISH, CANCEL = "PUBLISH", "CANCEL"


def event_uid(*, reservation: Reservation, session: GroupSession) -> str:
    return f"session-{session.pk}-reservation-{reservation.pk}@grouport"


def reservation_calendar(
    *, reservation: Reservation, sessions: list[GroupSession], method: str = PUBLISH
) -> bytes:
    """Return an iCalendar file of ``sessions`` for the member who holds ``reservation``.

    The event titles are neutral ("Group session"): a calendar is often shared or shown on
    a lock screen, and that someone attends a therapy group is health information. Written in
    the member's language, wherever it is asked for (a page, a reminder sent by a worker).
    ``method=CANCEL``: the sessions are taken out of the member's calendar (a cancelled
    session, or every session still to come of a seat that ended).
    """
    with translation.override(reservation.member.language or settings.LANGUAGE_CODE):
        return _calendar(reservation=reservation, sessions=sessions, method=method)


def _calendar(*, reservation: Reservation, sessions: list[GroupSession], method: str) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", "-//grouport//sessions//EN")
    calendar.add("version", "2.0")
    calendar.add("method", method)
    confirmed = reservation.status == Reservation.Status.CONFIRMED
    _name, sender = parseaddr(settings.DEFAULT_FROM_EMAIL)
    for session in sessions:
        event = Event()
        event.add("uid", event_uid(reservation=reservation, session=session))
        event.add("dtstamp", dt.datetime.now(dt.UTC))
        event.add("dtstart", session.starts_at)
        event.add("dtend", session.ends_at)
        # A seat that ended leaves sessions that did not change: one more than the session's
        # own sequence, so the cancellation is newer than anything sent before.
        cancelled_seat = method == CANCEL and session.status != GroupSession.Status.CANCELLED
        event.add("sequence", session.sequence + (1 if cancelled_seat else 0))
        event.add("summary", _("Group session (week %(number)s)") % {"number": session.number})
        details = [_("My groups: %(url)s") % {"url": f"{settings.SITE_URL}/my/"}]
        if confirmed and method == PUBLISH:
            # The member's own link for this session (it opens shortly before it starts);
            # the group's video link is never in a calendar file, which is often shared.
            link = join_url(reservation_id=reservation.pk, session_id=session.pk)
            event.add("location", link)
            details.insert(0, _("Join: %(url)s") % {"url": link})
        details.append(
            _(
                "Need help now? Call or text 988 (in Spanish: call 988 and press 2, or text AYUDA to 988). "
                "In an emergency, call 911."
            )
        )
        event.add("description", "\n".join(details))
        if method == CANCEL or session.status == GroupSession.Status.CANCELLED:
            event.add("status", "CANCELLED")
        if sender:
            # Who sends the change (a cancellation names its organizer): the clinic, no person.
            event.add("organizer", vCalAddress(f"mailto:{sender}"), encode=0)
        attendee = vCalAddress(f"mailto:{reservation.member.email}")
        attendee.params["ROLE"] = "REQ-PARTICIPANT"
        event.add("attendee", attendee, encode=0)
        calendar.add_component(event)
    return calendar.to_ical()


def _sessions_to_come(reservation: Reservation) -> list[GroupSession]:
    return list(
        GroupSession.objects.filter(
            group_id=reservation.group_id, status=GroupSession.Status.SCHEDULED, ends_at__gt=timezone.now()
        ).order_by("number")
    )


def seat_calendar_changes(
    *, reservation: Reservation, kind: str, payload: dict
) -> list[tuple[str, bytes, str]]:
    """What a seat's email changes in the member's calendar: a seat that ended takes its
    sessions still to come out (METHOD:CANCEL); a move does that for the old seat and adds
    the new one's."""
    files = []
    if kind == "cancelled":
        ended = _sessions_to_come(reservation)
        if ended:
            files.append(
                (
                    "sessions-cancelled.ics",
                    reservation_calendar(reservation=reservation, sessions=ended, method=CANCEL),
                    "text/calendar; method=CANCEL",
                )
            )
    elif kind == "moved" and payload.get("old"):
        old = Reservation.objects.select_related("member").filter(pk=payload["old"]).first()
        if old is not None and (ended := _sessions_to_come(old)):
            files.append(
                (
                    "sessions-cancelled.ics",
                    reservation_calendar(reservation=old, sessions=ended, method=CANCEL),
                    "text/calendar; method=CANCEL",
                )
            )
        if sessions := _sessions_to_come(reservation):
            files.append(
                (
                    "sessions.ics",
                    reservation_calendar(reservation=reservation, sessions=sessions, method=PUBLISH),
                    "text/calendar; method=PUBLISH",
                )
            )
    return files  # fmt: skip
