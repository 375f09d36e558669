"""Driving texts in tests: the outbox delivered now, and Twilio's signed webhooks posted
through Django's test client (the reply recorded as the text Twilio would send)."""

import datetime as dt

from django.conf import settings
from django.utils import timezone

from grouport.models import OutboxMessage
from grouport.outbox import outbox_deliver

WEBHOOK = "/webhooks/twilio/messages/"
STATUS = "/webhooks/twilio/status/"


def deliver_outbox(now: dt.datetime | None = None) -> list[str | None]:
    """Deliver every pending message that is due at ``now``, oldest first, as the sweeper does."""
    now = now or timezone.now()
    due = OutboxMessage.objects.filter(status="pending", available_at__lte=now).order_by("available_at", "pk")
    return [outbox_deliver(message_id=pk, now=now) for pk in due.values_list("pk", flat=True)]


def post_signed(client, fake, path: str, params: dict, *, signature: str | None = None):
    url = settings.SITE_URL + path
    signature = fake.signature(url, params) if signature is None else signature
    return client.post(path, params, HTTP_X_TWILIO_SIGNATURE=signature)


def text_in(client, fake, from_: str, body: str, *, message_sid: str | None = None):
    """A text from ``from_`` to our number, as Twilio posts it; its TwiML reply recorded."""
    params = fake.inbound_params(from_, body, message_sid=message_sid)
    response = post_signed(client, fake, WEBHOOK, params)
    if response.status_code == 200:
        fake.record_reply(from_, response.content.decode())
    return response, params
