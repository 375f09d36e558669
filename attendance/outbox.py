"""How attendance's side effects are carried out: session reminders and cancellation notices
to members, notes to a group's therapist and care team.

Recorded in the transaction of their cause (``outbox_add``), delivered from
``grouport.outbox``; an email is never sent twice.
"""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from attendance.services.reminders import REMINDER_MESSAGE, reminder_deliver, reminder_gave_up
from grouport.outbox import outbox_handler
from groups.models import GroupSession
from groups.selectors import care_team_addresses


def _reminder_gave_up(payload: dict, error: str) -> None:
    reminder_gave_up(reminder_id=payload["reminder"], error=error)


# Not retry_safe: an email whose worker died mid-send is failed, never sent twice.
@outbox_handler(REMINDER_MESSAGE, max_attempts=5, on_give_up=_reminder_gave_up)
def reminder_email(payload: dict) -> None:
    """One member's reminder of a session, or its cancellation notice (with the calendar
    file that takes it off their calendar)."""
    reminder_deliver(reminder_id=payload["reminder"])


@outbox_handler("attendance.therapist_note")
def therapist_note_email(payload: dict) -> None:
    """Tell a group's therapist something about a session that waits in the admin: a member
    can't make it ("excused"), or one reached the group's attendance rule (to the care team
    too). Like every staff email, it names no member and no diagnosis."""
    session = GroupSession.objects.select_related("group", "group__therapist__user").get(
        pk=payload["session"]
    )
    kind = payload["kind"]
    if kind == "excused":
        link = f"{settings.SITE_URL}/admin/groups/groupsession/{session.pk}/live/"
        addresses = [session.group.therapist.user.email] if session.group.therapist.user.email else []
    else:
        link = f"{settings.SITE_URL}/admin/groups/group/{session.group_id}/roster/"
        addresses = care_team_addresses(session.group)
    context = {
        "kind": kind,
        "link": link,
        "limit": session.group.missed_in_a_row_limit,
        "site_url": settings.SITE_URL,
    }
    subject = render_to_string("emails/therapist_note.subject.txt", context).strip()
    text = render_to_string("emails/therapist_note.txt", context)
    for address in addresses:
        EmailMultiAlternatives(subject=subject, body=text, to=[address]).send()
