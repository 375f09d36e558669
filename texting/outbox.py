"""How texting's side effects are carried out: the opt-in confirmation text, and telling the
care team a text waits for a person. Recorded in the transaction of their cause."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from grouport.outbox import outbox_handler
from texting import words
from texting.models import TextMessage
from texting.services import CONFIRMATION_MESSAGE, UNREAD_MESSAGE, text_deliver, text_gave_up


def _text_gave_up(payload: dict, error: str) -> None:
    text_gave_up(message_id=payload["text"], error=error)


# Not retry_safe: a text whose worker died mid-send is failed, never sent twice.
@outbox_handler(CONFIRMATION_MESSAGE, max_attempts=6, on_give_up=_text_gave_up)
def confirmation_text(payload: dict) -> None:
    message = TextMessage.objects.select_related("member").get(pk=payload["text"])
    language = message.member.language if message.member_id else None
    text_deliver(message_id=message.pk, body=words.confirmation_text(language))


@outbox_handler(UNREAD_MESSAGE)
def unread_text_email(payload: dict) -> None:
    """A text waits for a person in the admin: the care team hears at once (no words, no
    number in the email)."""
    context = {
        "link": f"{settings.SITE_URL}/admin/texting/inboundtext/{payload['inbound']}/change/",
        "site_url": settings.SITE_URL,
    }
    subject = render_to_string("emails/inbound_text.subject.txt", context).strip()
    body = render_to_string("emails/inbound_text.txt", context)
    EmailMultiAlternatives(subject=subject, body=body, to=[settings.CARE_TEAM_EMAIL]).send()
