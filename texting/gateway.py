"""The one place that talks to the text provider: Twilio (the official library), or the
console stand-in when no account is configured (``make run``).

Twilio learns a number, the words, and nothing else: no member's name, no clinical word (the
words are written by ``texting/words.py``'s callers and checked by the tests).
"""

import sys
from dataclasses import dataclass
from typing import Protocol

import requests
import urllib3
from django.conf import settings
from django.utils.crypto import get_random_string
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

TWILIO_API = "https://api.twilio.com"

# Twilio's errors that no retry can mend (https://www.twilio.com/docs/api/errors): the number
# is not a mobile that can get texts, it replied STOP, or it is not a number at all.
PERMANENT = {21211, 21408, 21610, 21612, 21614, 21217, 21219}
UNSUBSCRIBED = 21610


class NotSent(Exception):
    """The provider could not be reached (refused the connection, or did not answer it in
    time), or answered an error of its own (a 5xx, 429): the text was not sent; try later."""


class NoAnswer(Exception):
    """The request went out and no answer came back (dropped, or too slow): the text may have
    been sent. Twilio takes no idempotency key for a message, so trying again may send it twice."""


def _sent_or_not(exc: requests.RequestException) -> Exception:
    """Whether a failed request reached Twilio: a connection never made is safe to retry."""
    if isinstance(exc, requests.ConnectTimeout):
        return NotSent(type(exc).__name__)
    if isinstance(exc, requests.ConnectionError):
        reason = exc.args[0] if exc.args else None
        reason = getattr(reason, "reason", reason)
        if isinstance(reason, urllib3.exceptions.NewConnectionError):
            return NotSent(type(exc).__name__)
    return NoAnswer(type(exc).__name__)


class Refused(Exception):
    """The provider refused this text for good (a retry would be refused again)."""

    def __init__(self, code: int | None, stopped: bool = False) -> None:
        super().__init__(f"refused ({code})")
        self.code = code
        self.stopped = stopped


@dataclass(frozen=True)
class Sent:
    sid: str


class TextProvider(Protocol):
    name: str

    def text(self, *, to: str, body: str) -> Sent: ...

    def call(self, *, to: str, twiml: str) -> Sent: ...


class _TwilioHttp(TwilioHttpClient):
    """Twilio's own HTTP client, aimed at ``TWILIO_API_BASE`` when set (the tests' fake)."""

    def request(self, method, url, *args, **kwargs):
        if settings.TWILIO_API_BASE and url.startswith(TWILIO_API):
            url = settings.TWILIO_API_BASE.rstrip("/") + url[len(TWILIO_API) :]
        return super().request(method, url, *args, **kwargs)


def twilio_client() -> Client:
    """A client with a timeout that fits inside a worker's task (the library waits forever)."""
    http = _TwilioHttp(timeout=settings.TWILIO_TIMEOUT_SECONDS, pool_connections=False)
    return Client(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, http_client=http)


def status_callback_url() -> str:
    return f"{settings.SITE_URL}/webhooks/twilio/status/"


class TwilioProvider:
    name = "twilio"

    def _do(self, create, **params) -> Sent:
        try:
            resource = create(**params)
        except TwilioRestException as exc:
            if exc.code in PERMANENT or (exc.status and 400 <= exc.status < 500 and exc.status != 429):
                raise Refused(exc.code, stopped=exc.code == UNSUBSCRIBED) from None
            raise NotSent(f"twilio {exc.status}") from None
        except requests.RequestException as exc:
            raise _sent_or_not(exc) from None
        return Sent(resource.sid)

    def text(self, *, to: str, body: str) -> Sent:
        client = twilio_client()
        return self._do(
            client.messages.create,
            to=to,
            from_=settings.TWILIO_FROM_NUMBER,
            body=body,
            status_callback=status_callback_url(),
        )

    def call(self, *, to: str, twiml: str) -> Sent:
        client = twilio_client()
        return self._do(client.calls.create, to=to, from_=settings.TWILIO_FROM_NUMBER, twiml=twiml)


class ConsoleProvider:
    """No provider configured: each text is printed, as the console email backend prints
    emails (local development only; production refuses to start without Twilio)."""

    name = "console"
    stream = sys.stdout

    def _print(self, kind: str, to: str, words: str) -> Sent:
        sid = "console-" + get_random_string(24)
        self.stream.write(f"--- {kind} to {to} ({sid})\n{words}\n---\n")
        self.stream.flush()
        return Sent(sid)

    def text(self, *, to: str, body: str) -> Sent:
        return self._print("Text", to, body)

    def call(self, *, to: str, twiml: str) -> Sent:
        return self._print("Call", to, twiml)


def text_provider() -> TextProvider:
    if settings.TWILIO_ACCOUNT_SID:
        return TwilioProvider()
    return ConsoleProvider()
