"""A small fake of Twilio's REST API on loopback, for tests: the real ``twilio`` library talks to it.

The product's http client rewrites ``https://api.twilio.com`` to ``settings.TWILIO_API_BASE``,
so the fake serves the paths the library asks for, and only what grouport calls:

- ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` (``To``, ``From`` or
  ``MessagingServiceSid``, ``Body``, ``StatusCallback``): 201 and the message resource as
  Twilio returns it (``SM`` sid, status ``queued``, or ``accepted`` when only a Messaging
  Service was given).
- ``POST /2010-04-01/Accounts/{AccountSid}/Calls.json`` (``To``, ``From``, ``Twiml`` or
  ``Url``, ``StatusCallback``): 201 and a call resource (``CA`` sid, status ``queued``).
- anything else: 404 with Twilio's JSON error body.

It keeps Twilio's documented rules, each refused with Twilio's JSON error body
(``{"code", "message", "more_info", "status"}``, which the library raises as
``TwilioRestException`` with ``.code``):

- HTTP basic auth must be the fake's account sid and auth token, and the path's AccountSid
  that account, else 401 code 20003.
- ``To`` must be E.164 (``+`` and 8 to 15 digits, not starting with 0): missing, 400 code
  21604 (21200 for a call); malformed, 400 code 21211.
- A message needs ``From`` or ``MessagingServiceSid`` (400 code 21603), and a ``From`` must be
  one of the account's numbers (``numbers``; 400 code 21606; a call's, 21210). A call needs
  ``From`` and ``Twiml`` or ``Url`` (400 code 21200).
- ``Body`` is required (400 code 21602) and at most 1600 characters (400 code 21617).
- Twilio's default opt-out handling: a number that texted STOP (STOPALL, UNSUBSCRIBE, CANCEL,
  END, QUIT, OPTOUT, REVOKE; see ``inbound_params``) is in ``opted_out`` until it texts START
  (YES, UNSTOP), and a message to it is refused, 400 code 21610; so is a TwiML reply to it.
  Twilio answers those keywords (and HELP, INFO) itself: its answers go to ``auto_replies``,
  not ``messages``. The fake keeps one opt-out list for the account (Twilio keeps one per
  sender; grouport sends from one number).

Nothing refused is recorded as sent. Every API request is kept in ``requests``; what was sent
in ``messages`` (``via="api"``, or ``via="twiml"`` for a TwiML reply to an incoming text,
which Twilio sends as a text) and ``calls``.

Webhooks, Twilio calling grouport: ``inbound_params`` and ``status_params`` build the form
Twilio POSTs for an incoming text and for a message's status callback; ``signature`` signs
them exactly as Twilio does (``X-Twilio-Signature``: base64 HMAC-SHA1, keyed by the auth
token, of the full URL followed by the sorted params, each name then value; computed by the
library's own ``RequestValidator``); ``deliver`` POSTs them to a live server and, as Twilio
would, sends each ``<Message>`` of a TwiML answer. Tests posting with Django's test client
call ``record_reply(to, xml_text)`` for the same.

Faults, for the tests that need Twilio to misbehave:

- ``fail_next``: status codes to answer next, in order, with Twilio's error body (code
  20000 + status, 20003 for a 401); nothing is sent.
- ``down``: while True every API request is answered ``down_status`` (500, or 503), nothing
  sent.
- ``lose_next``: how many of the next requests that succeed are carried out (and recorded
  as sent) but answered with a dropped connection, as when an answer is lost on the way back.
- ``stall_seconds`` / ``stall_next``: the next requests wait this long before they are read
  (a Twilio that stalls); ``stall_next = -1`` stalls every request.
"""

import base64
import binascii
import contextlib
import json
import re
import socket
import threading
import time
import urllib.error
import urllib.request
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlencode, urlparse

from twilio.request_validator import RequestValidator

ACCOUNT_SID = "AC0123456789abcdef0123456789abcdef"
AUTH_TOKEN = "f4ce0000feed0000beef0000cafe0000"
FROM_NUMBER = "+15005550006"
API_VERSION = "2010-04-01"

E164 = re.compile(r"\+[1-9][0-9]{7,14}")
OPT_OUT = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE"})
OPT_IN = frozenset({"START", "YES", "UNSTOP"})
HELP = frozenset({"HELP", "INFO"})
# Twilio's default answers to those keywords (sent by Twilio, not by the account's webhook).
AUTO_REPLY = {
    "out": "You have successfully been unsubscribed. You will not receive any more messages from "
    "this number. Reply START to resubscribe.",
    "in": "You have successfully been re-subscribed to messages from this number. Reply HELP for "
    "help. Reply STOP to unsubscribe. Msg&Data Rates May Apply.",
    "help": "Reply STOP to unsubscribe. Msg&Data Rates May Apply.",
}

# GSM 03.38: the basic set counts one septet a character, the extension set two.
GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENDED = set("^{}\\[~]|€\f")


def num_segments(body: str) -> int:
    """How many SMS segments ``body`` takes: GSM-7 160 (153 a part), else UCS-2 70 (67 a part)."""
    if all(c in GSM_BASIC or c in GSM_EXTENDED for c in body):
        units, single, part = sum(2 if c in GSM_EXTENDED else 1 for c in body), 160, 153
    else:
        units, single, part = len(body.encode("utf-16-le")) // 2, 70, 67
    return 1 if units <= single else -(-units // part)


def error_body(status: int, code: int | None = None, message: str | None = None) -> dict:
    """Twilio's JSON error body (the library raises it as ``TwilioRestException``)."""
    code = code or (20003 if status == 401 else 20000 + status)
    default = {
        401: "Authenticate",
        404: "The requested resource was not found",
        429: "Too Many Requests",
        500: "An internal server error has occurred",
        503: "Service is unavailable. Please try again",
    }
    return {
        "code": code,
        "message": message or default.get(status, "Bad request"),
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def twiml_messages(xml_text: str) -> list[str]:
    """The text of each ``<Message>`` in a TwiML answer (``<Message>hi</Message>`` or with a
    ``<Body>``); none for an empty answer or one that is not TwiML."""
    return [text for _to, text in _twiml(xml_text)]


def _twiml(xml_text: str) -> list[tuple[str | None, str]]:
    try:
        root = ET.fromstring(xml_text)  # noqa: S314 - our own server's answer, on loopback
    except ET.ParseError:
        return []
    if root.tag != "Response":
        return []
    found = []
    for message in root.iter("Message"):
        body = message.find("Body")
        text = (body.text if body is not None else message.text) or ""
        found.append((message.get("to"), text.strip()))
    return found


def _now() -> datetime:
    return datetime.now(UTC)


def _rfc2822(at: datetime) -> str:
    return format_datetime(at)  # "Thu, 24 Aug 2023 05:01:45 +0000", as Twilio writes dates


@dataclass
class Recorded:
    method: str
    path: str
    params: dict[str, str]  # the form (a repeated name keeps its last value)


@dataclass
class Message:
    sid: str
    to: str
    from_: str | None
    body: str
    status_callback: str | None = None
    messaging_service_sid: str | None = None
    status: str = "queued"
    via: str = "api"  # "api": created through the REST API; "twiml": a TwiML reply to a text
    at: datetime = field(default_factory=_now)


@dataclass
class Call:
    sid: str
    to: str
    from_: str
    twiml: str | None
    url: str | None
    status_callback: str | None = None
    status: str = "queued"
    at: datetime = field(default_factory=_now)


@dataclass
class FakeTwilio:
    """State of the fake: the account, what was sent, recorded requests, and the faults."""

    url: str = ""
    account_sid: str = ACCOUNT_SID
    auth_token: str = AUTH_TOKEN
    numbers: set[str] = field(default_factory=lambda: {FROM_NUMBER})  # the account's phone numbers
    opted_out: set[str] = field(default_factory=set)
    requests: list[Recorded] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    refused: list[tuple[str, str, int]] = field(default_factory=list)  # TwiML replies: (to, body, code)
    auto_replies: list[tuple[str, str]] = field(default_factory=list)  # Twilio's own: (to, body)
    fail_next: list[int] = field(default_factory=list)  # status codes to answer next, in order
    down: bool = False
    down_status: int = 500
    lose_next: int = 0  # successful requests carried out but answered with a dropped connection
    stall_seconds: float = 0.0
    stall_next: int = 0  # requests that stall first (-1: all of them)
    lock: threading.Lock = field(default_factory=threading.Lock)

    # --- what the API does

    def _account_path(self) -> str:
        return f"/{API_VERSION}/Accounts/{self.account_sid}"

    def create_message(self, form: dict[str, str]) -> tuple[int, dict]:
        """Carry out ``POST .../Messages.json``; return (status, body). Call with the lock held."""
        to, from_, service = form.get("To", ""), form.get("From") or None, form.get("MessagingServiceSid")
        body = form.get("Body", "")
        if not to:
            return 400, error_body(400, 21604, "A 'To' phone number is required.")
        if not E164.fullmatch(to):
            return 400, error_body(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if not from_ and not service:
            return 400, error_body(400, 21603, "A 'From' phone number is required.")
        if from_ and from_ not in self.numbers:
            return 400, error_body(
                400,
                21606,
                f"The From phone number {from_} is not a valid, SMS-capable inbound phone number "
                "or short code for your account.",
            )
        if not body:
            return 400, error_body(400, 21602, "Message body is required.")
        if len(body) > 1600:
            return 400, error_body(
                400, 21617, "The concatenated message body exceeds the 1600 character limit."
            )
        if to in self.opted_out:
            return 400, error_body(400, 21610, "Attempt to send to unsubscribed recipient")
        message = Message(
            sid=f"SM{uuid.uuid4().hex}",
            to=to,
            from_=from_,
            body=body,
            status_callback=form.get("StatusCallback") or None,
            messaging_service_sid=service,
            status="queued" if from_ else "accepted",
        )
        self.messages.append(message)
        return 201, self.message_resource(message)

    def message_resource(self, message: Message) -> dict:
        uri = f"{self._account_path()}/Messages/{message.sid}"
        return {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": message.body,
            "date_created": _rfc2822(message.at),
            "date_sent": None,
            "date_updated": _rfc2822(message.at),
            "direction": "outbound-api" if message.via == "api" else "outbound-reply",
            "error_code": None,
            "error_message": None,
            "from": message.from_,
            "messaging_service_sid": message.messaging_service_sid,
            "num_media": "0",
            "num_segments": str(num_segments(message.body)),
            "price": None,
            "price_unit": "USD",
            "sid": message.sid,
            "status": message.status,
            "subresource_uris": {"media": f"{uri}/Media.json"},
            "to": message.to,
            "uri": f"{uri}.json",
        }

    def create_call(self, form: dict[str, str]) -> tuple[int, dict]:
        """Carry out ``POST .../Calls.json``; return (status, body). Call with the lock held."""
        to, from_ = form.get("To", ""), form.get("From", "")
        twiml, url = form.get("Twiml") or None, form.get("Url") or None
        if not to or not from_:
            return 400, error_body(400, 21200, "Required parameters 'To' and 'From' are missing.")
        if not E164.fullmatch(to):
            return 400, error_body(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if from_ not in self.numbers:
            return 400, error_body(
                400,
                21210,
                f"The source phone number provided, {from_}, is not yet verified for your account.",
            )
        if not twiml and not url:
            return 400, error_body(400, 21200, "Either 'Url', 'Twiml' or 'ApplicationSid' is required.")
        call = Call(
            sid=f"CA{uuid.uuid4().hex}",
            to=to,
            from_=from_,
            twiml=twiml,
            url=url,
            status_callback=form.get("StatusCallback") or None,
        )
        self.calls.append(call)
        uri = f"{self._account_path()}/Calls/{call.sid}"
        return 201, {
            "account_sid": self.account_sid,
            "annotation": None,
            "answered_by": None,
            "api_version": API_VERSION,
            "caller_name": None,
            "date_created": _rfc2822(call.at),
            "date_updated": _rfc2822(call.at),
            "direction": "outbound-api",
            "duration": None,
            "end_time": None,
            "forwarded_from": None,
            "from": from_,
            "from_formatted": from_,
            "group_sid": None,
            "parent_call_sid": None,
            "phone_number_sid": None,
            "price": None,
            "price_unit": "USD",
            "queue_time": "0",
            "sid": call.sid,
            "start_time": None,
            "status": call.status,
            "subresource_uris": {"recordings": f"{uri}/Recordings.json"},
            "to": to,
            "to_formatted": to,
            "trunk_sid": None,
            "uri": f"{uri}.json",
        }

    # --- webhooks: what Twilio POSTs to grouport

    def inbound_params(
        self, from_: str, body: str, to: str | None = None, message_sid: str | None = None
    ) -> dict[str, str]:
        """The form Twilio POSTs for a text ``from_`` sent to ``to`` (our number by default).

        Applies Twilio's default opt-out handling to the fake first, as Twilio does before it
        forwards the text: STOP words put ``from_`` in ``opted_out``, START words take it out.
        """
        to = to or FROM_NUMBER
        sid = message_sid or f"SM{uuid.uuid4().hex}"
        keyword = body.strip().upper()
        with self.lock:
            if keyword in OPT_OUT:
                self.opted_out.add(from_)
                self.auto_replies.append((from_, AUTO_REPLY["out"]))
            elif keyword in OPT_IN:
                self.opted_out.discard(from_)
                self.auto_replies.append((from_, AUTO_REPLY["in"]))
            elif keyword in HELP:
                self.auto_replies.append((from_, AUTO_REPLY["help"]))
        return {
            "ToCountry": _country(to),
            "ToState": "",
            "SmsMessageSid": sid,
            "NumMedia": "0",
            "ToCity": "",
            "FromZip": "",
            "SmsSid": sid,
            "FromState": "",
            "SmsStatus": "received",
            "FromCity": "",
            "Body": body,
            "FromCountry": _country(from_),
            "To": to,
            "ToZip": "",
            "NumSegments": str(num_segments(body)),
            "ReferralNumMedia": "0",
            "MessageSid": sid,
            "AccountSid": self.account_sid,
            "From": from_,
            "ApiVersion": API_VERSION,
        }

    def status_params(self, sid: str, status: str, error_code: int | str | None = None) -> dict[str, str]:
        """The form of a status callback for the recorded message ``sid`` (and its new status)."""
        with self.lock:
            message = next(m for m in self.messages if m.sid == sid)
            message.status = status
        params = {
            "SmsSid": sid,
            "SmsStatus": status,
            "MessageStatus": status,
            "To": message.to,
            "MessageSid": sid,
            "AccountSid": self.account_sid,
            "From": message.from_ or "",
            "ApiVersion": API_VERSION,
        }
        if message.messaging_service_sid:
            params["MessagingServiceSid"] = message.messaging_service_sid
        if error_code is not None:
            params["ErrorCode"] = str(error_code)
        return params

    def signature(self, url: str, params: dict[str, str]) -> str:
        """``X-Twilio-Signature`` for a POST of ``params`` to ``url``, as Twilio computes it."""
        return RequestValidator(self.auth_token).compute_signature(url, params)

    def deliver(self, url: str, params: dict[str, str]) -> tuple[int, str]:
        """POST ``params`` to ``url``, signed, as Twilio does; return (status, body text).

        For an incoming text answered 2xx with TwiML, each ``<Message>`` is sent to the texter
        (``record_reply``); Twilio ignores what a status callback answers.
        """
        request = urllib.request.Request(
            url,
            data=urlencode(params).encode(),
            headers={
                "Content-Type": "application/x-www-form-urlencoded; charset=UTF-8",
                "User-Agent": "TwilioProxy/1.1",
                "Accept": "*/*",
                "X-Twilio-Signature": self.signature(url, params),
                "I-Twilio-Idempotency-Token": str(uuid.uuid4()),
            },
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # loopback only
                status, text = response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            status, text = exc.code, exc.read().decode()
        if 200 <= status < 300 and params.get("SmsStatus") == "received":
            self.record_reply(params["From"], text, from_=params.get("To") or FROM_NUMBER)
        return status, text

    def record_reply(self, to: str, xml_text: str, from_: str = FROM_NUMBER) -> list[Message]:
        """Send each ``<Message>`` of a TwiML answer to ``to`` (or its ``to`` attribute), as
        Twilio does; one to an opted-out number is refused (``refused``, code 21610)."""
        sent = []
        with self.lock:
            for target, text in _twiml(xml_text):
                target = target or to
                if target in self.opted_out:
                    self.refused.append((target, text, 21610))
                    continue
                message = Message(sid=f"SM{uuid.uuid4().hex}", to=target, from_=from_, body=text, via="twiml")
                self.messages.append(message)
                sent.append(message)
        return sent

    # --- for assertions

    def texts_to(self, number: str) -> list[str]:
        """The bodies sent to ``number``, in order."""
        return [m.body for m in self.messages if m.to == number]


def _country(number: str) -> str:
    return "US" if number.startswith("+1") else ""


def make_handler(fake: FakeTwilio) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # keep test output quiet
            pass

        def _send(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Twilio-Request-Id", f"RQ{uuid.uuid4().hex}")
            self.end_headers()
            self.wfile.write(data)

        def _stall(self) -> None:
            with fake.lock:
                stall = fake.stall_next != 0 and fake.stall_seconds > 0
                if stall and fake.stall_next > 0:
                    fake.stall_next -= 1
            if stall:
                time.sleep(fake.stall_seconds)

        def _drop(self) -> None:
            """Hang up without an answer: the request was carried out, its answer is lost."""
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)

        def _authenticated(self, path: str) -> bool:
            scheme, _, encoded = (self.headers.get("Authorization") or "").partition(" ")
            try:
                user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return False
            in_path = path.split("/")[3] if path.startswith(f"/{API_VERSION}/Accounts/") else None
            return (
                scheme.lower() == "basic"
                and user == fake.account_sid
                and password == fake.auth_token
                and in_path in (None, fake.account_sid)
            )

        def _handle(self, method: str) -> None:
            self._stall()
            path = urlparse(self.path).path
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            form = dict(parse_qsl(raw, keep_blank_values=True))
            with fake.lock:
                fake.requests.append(Recorded(method, path, form))
                if fake.down:
                    return self._send(fake.down_status, error_body(fake.down_status))
                if fake.fail_next:
                    status = fake.fail_next.pop(0)
                    return self._send(status, error_body(status))
                if not self._authenticated(path):
                    return self._send(401, error_body(401))
                account = f"/{API_VERSION}/Accounts/{fake.account_sid}"
                if method == "POST" and path == f"{account}/Messages.json":
                    status, body = fake.create_message(form)
                elif method == "POST" and path == f"{account}/Calls.json":
                    status, body = fake.create_call(form)
                else:
                    return self._send(
                        404, error_body(404, 20404, f"The requested resource {path} was not found")
                    )
                if status < 300 and fake.lose_next > 0:
                    fake.lose_next -= 1
                    return self._drop()
            return self._send(status, body)

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

        def do_DELETE(self) -> None:
            self._handle("DELETE")

    return Handler


def start(fake: FakeTwilio | None = None) -> tuple[FakeTwilio, ThreadingHTTPServer]:
    fake = fake or FakeTwilio()
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(fake))
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return fake, server


def use_in_settings(settings, fake: FakeTwilio) -> None:
    """Make the product's Twilio client (the real ``twilio`` library) use ``fake`` as Twilio."""
    settings.TWILIO_ACCOUNT_SID = fake.account_sid
    settings.TWILIO_AUTH_TOKEN = fake.auth_token
    settings.TWILIO_FROM_NUMBER = FROM_NUMBER
    settings.TWILIO_API_BASE = fake.url
