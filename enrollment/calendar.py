"""A member's own calendar file for a group: its sessions, naming nobody else."""

import datetime as dt

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _
from icalendar import Calendar, Event, vCalAddress

from enrollment.join import join_url
from enrollment.models import Reservation
from groups.models import GroupSession


def reservation_calendar(*, reservation: Reservation, sessions: list[GroupSession]) -> bytes:
    """Return an iCalendar file of ``sessions`` for the member who holds ``reservation``.

    The event titles are neutral ("Group session"): a calendar is often shared or shown on
    a lock screen, and that someone attends a therapy group is health information. Written in
    the member's language, wherever it is asked for (a page, a reminder sent by a worker).
    """
    with translation.override(reservation.member.language or settings.LANGUAGE_CODE):
        return _calendar(reservation=reservation, sessions=sessions)


def _calendar(*, reservation: Reservation, sessions: list[GroupSession]) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", "-//grouport//sessions//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    confirmed = reservation.status == Reservation.Status.CONFIRMED
    for session in sessions:
        event = Event()
        event.add("uid", f"session-{session.pk}-reservation-{reservation.pk}@grouport")
        event.add("dtstamp", dt.datetime.now(dt.UTC))
        event.add("dtstart", session.starts_at)
        event.add("dtend", session.ends_at)
        event.add("summary", _("Group session (week %(number)s)") % {"number": session.number})
        details = [_("My groups: %(url)s") % {"url": f"{settings.SITE_URL}/my/"}]
        if confirmed:
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
        if session.status == GroupSession.Status.CANCELLED:
            event.add("status", "CANCELLED")
        attendee = vCalAddress(f"mailto:{reservation.member.email}")
        attendee.params["ROLE"] = "REQ-PARTICIPANT"
        event.add("attendee", attendee, encode=0)
        calendar.add_component(event)
    return calendar.to_ical()
