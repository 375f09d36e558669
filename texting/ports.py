"""What texting needs from the parts above it: a reply that is not STOP, START or HELP may be
for one of them (a clinician acknowledging an alert with its code). Care fills it in when it
starts; asked like a function, one answer."""

from typing import Protocol

from django.core.exceptions import ImproperlyConfigured


class InboundReply(Protocol):
    def __call__(self, *, from_phone: str, body: str) -> str | None:
        """Act on a reply meant for you (in the caller's transaction) and return the words to
        text back; ``None`` when it is not yours."""
        ...


_inbound_reply: list[InboundReply] = []


def inbound_reply_provide(handler: InboundReply) -> None:
    _inbound_reply[:] = [handler]


def inbound_reply(*, from_phone: str, body: str) -> str | None:
    if not _inbound_reply:
        raise ImproperlyConfigured("texting's inbound_reply port has nobody to answer it (care fills it in)")
    return _inbound_reply[0](from_phone=from_phone, body=body)
