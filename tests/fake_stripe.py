"""A small fake of Stripe's API on loopback, for tests: the real ``stripe`` library talks to it.

It implements only what grouport calls: create, retrieve and expire Checkout Sessions, and
create and list refunds, with Stripe's documented idempotency: the first result of a key is
saved once the endpoint starts executing and replayed for every retry with that key, **a 500
included**; the same key with other parameters is refused (400 ``idempotency_error``); a
request refused before it ran (a 4xx) saves nothing. It records every request so tests can
check keys and bodies (no clinical words), serves a hosted checkout page with a Pay button
for browser tests, and signs webhook events the way Stripe does:
``Stripe-Signature: t=<ts>,v1=<HMAC-SHA256 of "<ts>.<body>">``.

Faults, for the tests that need Stripe to misbehave:

- ``fail_next``: status codes to answer next, in order. A 5xx happens after the endpoint
  started, so it is saved for the request's key (every retry gets it back); a 4xx is not.
- ``lose_next``: how many of the next requests are carried out (and saved for their key) but
  answered with a dropped connection, as when an answer is lost on the way back.
- ``stall_seconds`` / ``stall_next``: the next requests wait this long before they are read
  (a Stripe that stalls); ``stall_next = -1`` stalls every request.
"""

import contextlib
import hashlib
import hmac
import html
import itertools
import json
import socket
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlparse

WEBHOOK_SECRET = "whsec_test_grouport"


def sign(payload: bytes, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """Return the ``Stripe-Signature`` header for ``payload``, as Stripe computes it."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def nest(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Turn Stripe's form encoding (``a[b][0][c]=1``) back into nested dicts and lists."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        parts = key.replace("]", "").split("[")
        node: Any = root
        for part, following in itertools.pairwise(parts):
            container: Any = [] if following.isdigit() else {}
            if isinstance(node, list):
                index = int(part)
                while len(node) <= index:
                    node.append(None)
                if node[index] is None:
                    node[index] = container
                node = node[index]
            else:
                node = node.setdefault(part, container)
        last = parts[-1]
        if isinstance(node, list):
            node.append(value)
        else:
            node[last] = value
    return root


@dataclass
class Recorded:
    method: str
    path: str
    idempotency_key: str | None
    body: dict[str, Any]
    raw: str


@dataclass
class FakeStripe:
    """State of the fake: sessions, refunds, recorded requests, and where to send webhooks."""

    url: str = ""
    webhook_url: str = ""
    requests: list[Recorded] = field(default_factory=list)
    sessions: dict[str, dict] = field(default_factory=dict)
    refunds: dict[str, dict] = field(default_factory=dict)
    by_key: dict[str, dict] = field(default_factory=dict)
    fail_next: list[int] = field(default_factory=list)  # status codes to answer next, in order
    lose_next: int = 0  # requests carried out but answered with a dropped connection
    stall_seconds: float = 0.0
    stall_next: int = 0  # requests that stall first (-1: all of them)
    refund_status: str = "succeeded"  # what a new refund says of itself
    params_by_key: dict[str, dict] = field(default_factory=dict)
    status_by_key: dict[str, int] = field(default_factory=dict)
    ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    lock: threading.Lock = field(default_factory=threading.Lock)

    # --- what the API does

    def create_session(self, body: dict) -> dict:
        n = next(self.ids)
        item = body["line_items"]["0"] if isinstance(body["line_items"], dict) else body["line_items"][0]
        amount = int(item["price_data"]["unit_amount"]) * int(item.get("quantity", 1))
        session = {
            "id": f"cs_test_{n:06d}",
            "object": "checkout.session",
            "url": f"{self.url}/checkout/cs_test_{n:06d}",
            "mode": body["mode"],
            "status": "open",
            "payment_status": "unpaid",
            "payment_intent": None,
            "amount_total": amount,
            "currency": item["price_data"]["currency"],
            "client_reference_id": body.get("client_reference_id"),
            "customer_email": body.get("customer_email"),
            "metadata": body.get("metadata", {}),
            "expires_at": int(body["expires_at"]),
            "success_url": body["success_url"],
            "cancel_url": body["cancel_url"],
        }
        self.sessions[session["id"]] = session
        return session

    def create_refund(self, body: dict) -> dict:
        n = next(self.ids)
        refund = {
            "id": f"re_test_{n:06d}",
            "object": "refund",
            "amount": int(body["amount"]),
            "payment_intent": body["payment_intent"],
            "metadata": body.get("metadata", {}),
            "status": self.refund_status,
            "failure_reason": None,
        }
        self.refunds[refund["id"]] = refund
        return refund

    def refund_update(self, refund_id: str, status: str, failure_reason: str | None = None) -> dict:
        """Move a refund on, as Stripe's processing would (then send ``refund.updated``)."""
        refund = self.refunds[refund_id]
        refund.update(status=status, failure_reason=failure_reason)
        return refund

    def pay(self, session_id: str, *, payment_status: str = "paid") -> dict:
        """Complete a session as if the member paid on the hosted page."""
        session = self.sessions[session_id]
        session.update(
            status="complete", payment_status=payment_status, payment_intent=f"pi_{session_id[3:]}"
        )
        return session

    # --- webhooks

    def event(self, type_: str, obj: dict, *, event_id: str | None = None) -> dict:
        return {
            "id": event_id or f"evt_test_{next(self.ids):06d}",
            "object": "event",
            "type": type_,
            "created": int(time.time()),
            "livemode": False,
            "data": {"object": json.loads(json.dumps(obj))},
        }

    def deliver(self, event: dict, *, url: str | None = None, secret: str = WEBHOOK_SECRET) -> int:
        """POST a signed event to the webhook endpoint over HTTP; return the status."""
        payload = json.dumps(event).encode()
        request = urllib.request.Request(
            url or self.webhook_url,
            data=payload,
            headers={"Content-Type": "application/json", "Stripe-Signature": sign(payload, secret)},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # loopback only
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code

    def keys(self, path_prefix: str) -> list[str | None]:
        return [
            r.idempotency_key for r in self.requests if r.path.startswith(path_prefix) and r.method == "POST"
        ]


def make_handler(fake: FakeStripe) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # keep test output quiet
            pass

        def _send(self, status: int, body: Any, content_type: str = "application/json") -> None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Request-Id", f"req_{next(fake.ids)}")
            self.end_headers()
            self.wfile.write(data)

        def _read(self) -> tuple[str, dict]:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            return raw, nest(parse_qsl(raw, keep_blank_values=True))

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

        def do_GET(self) -> None:
            self._stall()
            url = urlparse(self.path)
            path = url.path
            with fake.lock:
                fake.requests.append(Recorded("GET", path, None, {}, ""))
            if path == "/v1/refunds":
                query = dict(parse_qsl(url.query))
                found = [
                    r
                    for r in fake.refunds.values()
                    if not query.get("payment_intent") or r["payment_intent"] == query["payment_intent"]
                ]
                return self._send(
                    200, {"object": "list", "data": found, "has_more": False, "url": "/v1/refunds"}
                )
            if path.startswith("/v1/refunds/"):
                refund = fake.refunds.get(path.rsplit("/", 1)[1])
                return self._send(200, refund) if refund else self._not_found()
            if path.startswith("/v1/checkout/sessions/"):
                session = fake.sessions.get(path.rsplit("/", 1)[1])
                return self._send(200, session) if session else self._not_found()
            if path.startswith("/checkout/"):
                session = fake.sessions.get(path.rsplit("/", 1)[1])
                if not session:
                    return self._not_found()
                amount = f"{session['amount_total'] / 100:.2f}"
                page = (
                    "<!doctype html><html><head><meta name='viewport' content='width=device-width'>"
                    "<title>Fake Stripe Checkout</title></head><body><h1>Fake Stripe Checkout</h1>"
                    f"<p>Pay ${amount} to grouport</p>"
                    f"<form method='post' action='/checkout/{html.escape(session['id'])}/pay'>"
                    f"<button type='submit'>Pay ${amount}</button></form></body></html>"
                )
                return self._send(200, page.encode(), "text/html; charset=utf-8")
            return self._not_found()

        def do_POST(self) -> None:
            self._stall()
            path = urlparse(self.path).path
            raw, body = self._read()
            key = self.headers.get("Idempotency-Key")
            with fake.lock:
                fake.requests.append(Recorded("POST", path, key, body, raw))
                lose = fake.lose_next > 0
                if lose:
                    fake.lose_next -= 1
                if key and key in fake.params_by_key:
                    if fake.params_by_key[key] != {"path": path, "body": body}:
                        return self._send(
                            400,
                            {
                                "error": {
                                    "message": "Keys for idempotent requests can only be used with the "
                                    "same parameters they were first used with.",
                                    "type": "idempotency_error",
                                }
                            },
                        )
                    if lose:
                        return self._drop()
                    status = fake.status_by_key[key]
                    return self._send(status, fake.by_key[key])
                if fake.fail_next:
                    status = fake.fail_next.pop(0)
                    error = {"error": {"message": "fake failure", "type": "api_error"}}
                    if status >= 500 and key:
                        # The endpoint had started: Stripe keeps this answer for the key.
                        fake.params_by_key[key] = {"path": path, "body": body}
                        fake.by_key[key], fake.status_by_key[key] = error, status
                    return self._send(status, error)
                if path == "/v1/checkout/sessions":
                    result = fake.create_session(body)
                elif path.startswith("/v1/checkout/sessions/") and path.endswith("/expire"):
                    session = fake.sessions.get(path.split("/")[4])
                    if not session:
                        return self._not_found()
                    session["status"] = "expired"
                    result = session
                elif path == "/v1/refunds":
                    result = fake.create_refund(body)
                elif path.startswith("/checkout/") and path.endswith("/pay"):
                    session = fake.pay(path.split("/")[2])
                    event = fake.event("checkout.session.completed", session)
                    threading.Thread(target=fake.deliver, args=(event,), daemon=True).start()
                    self.send_response(303)
                    self.send_header("Location", session["success_url"])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return None
                else:
                    return self._not_found()
                if key:
                    fake.params_by_key[key] = {"path": path, "body": body}
                    fake.by_key[key], fake.status_by_key[key] = result, 200
                if lose:
                    return self._drop()
            return self._send(200, result)

        def _not_found(self) -> None:
            self._send(404, {"error": {"message": "No such object", "type": "invalid_request_error"}})

    return Handler


def start(fake: FakeStripe | None = None) -> tuple[FakeStripe, ThreadingHTTPServer]:
    fake = fake or FakeStripe()
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(fake))
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return fake, server


def use_in_settings(settings, fake: "FakeStripe") -> None:
    """Make the real ``stripe`` library (and the pages) use ``fake`` as Stripe.

    Its hosted checkout stands in for https://checkout.stripe.com, where the reserve form's
    answer redirects: the CSP's form-action allows it the same way.
    """
    import copy

    settings.STRIPE_SECRET_KEY = "sk_test_fake"
    settings.STRIPE_API_BASE = fake.url
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    policy = copy.deepcopy(settings.CONTENT_SECURITY_POLICY)
    policy["DIRECTIVES"]["form-action"] = [*policy["DIRECTIVES"]["form-action"], fake.url]
    settings.CONTENT_SECURITY_POLICY = policy
