"""The fake Twilio keeps Twilio's rules, checked with the real ``twilio`` library talking to it."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

import pytest
import requests
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from tests import fake_twilio
from tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER

pytestmark = pytest.mark.sqlite

MEMBER = "+12125550123"


class ToFake(TwilioHttpClient):
    """Sends the library's ``https://api.twilio.com`` requests to the fake instead."""

    def __init__(self, base: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.base = base

    def request(self, method, url, *args, **kwargs):
        return super().request(method, url.replace("https://api.twilio.com", self.base, 1), *args, **kwargs)


@pytest.fixture
def fake():
    fake, server = fake_twilio.start()
    yield fake
    server.shutdown()
    server.server_close()


def client(fake, sid: str = ACCOUNT_SID, token: str = AUTH_TOKEN, **http) -> Client:
    return Client(sid, token, http_client=ToFake(fake.url, **http))


def send(fake, to: str = MEMBER, body: str = "Your group meets at 7.", **kwargs):
    return client(fake).messages.create(to=to, from_=FROM_NUMBER, body=body, **kwargs)


def test_a_message_is_created_and_recorded(fake):
    message = send(fake, status_callback="http://testserver/twilio/status")

    assert message.sid.startswith("SM") and len(message.sid) == 34
    assert message.status == "queued" and message.direction == "outbound-api"
    assert (message.to, message.from_, message.body) == (MEMBER, FROM_NUMBER, "Your group meets at 7.")
    assert message.account_sid == ACCOUNT_SID and message.num_segments == "1"
    assert message.date_created is not None and message.error_code is None
    [sent] = fake.messages
    assert (sent.sid, sent.to, sent.from_, sent.via) == (message.sid, MEMBER, FROM_NUMBER, "api")
    assert sent.status_callback == "http://testserver/twilio/status"
    [request] = fake.requests
    assert request.method == "POST" and request.path.endswith(f"/Accounts/{ACCOUNT_SID}/Messages.json")
    assert request.params["Body"] == "Your group meets at 7."


def test_a_messaging_service_may_stand_for_from(fake):
    message = client(fake).messages.create(to=MEMBER, messaging_service_sid="MG" + "0" * 32, body="Hi")
    assert message.status == "accepted" and fake.messages[0].messaging_service_sid == "MG" + "0" * 32


@pytest.mark.parametrize(
    ("sid", "token"), [(ACCOUNT_SID, "wrong"), ("AC" + "f" * 32, AUTH_TOKEN)], ids=["token", "account"]
)
def test_wrong_credentials_are_refused(fake, sid, token):
    with pytest.raises(TwilioRestException) as caught:
        client(fake, sid, token).messages.create(to=MEMBER, from_=FROM_NUMBER, body="Hi")
    assert (caught.value.status, caught.value.code) == (401, 20003)
    assert fake.messages == []


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"to": "2125550123"}, 21211),
        ({"to": "+1212"}, 21211),
        ({"body": ""}, 21602),
        ({"body": "x" * 1601}, 21617),
        ({"from_": "+15555550100"}, 21606),
    ],
)
def test_twilio_rules_are_kept(fake, fields, code):
    values = {"to": MEMBER, "from_": FROM_NUMBER, "body": "Hi", **fields}
    with pytest.raises(TwilioRestException) as caught:
        client(fake).messages.create(**values)
    assert (caught.value.status, caught.value.code) == (400, code)
    assert fake.messages == []


def test_from_is_required(fake):
    with pytest.raises(TwilioRestException) as caught:
        client(fake).messages.create(to=MEMBER, body="Hi")
    assert caught.value.code == 21603


def test_a_member_who_texted_stop_cannot_be_sent_to_until_start(fake):
    fake.inbound_params(MEMBER, " stop ")
    assert MEMBER in fake.opted_out
    with pytest.raises(TwilioRestException) as caught:
        send(fake)
    assert (caught.value.status, caught.value.code) == (400, 21610)
    assert fake.messages == []

    fake.inbound_params(MEMBER, "START")
    assert MEMBER not in fake.opted_out
    assert send(fake).status == "queued"
    assert [to for to, _ in fake.auto_replies] == [MEMBER, MEMBER]


def test_spanish_words_are_not_twilios(fake):
    fake.inbound_params(MEMBER, "ALTO")
    assert fake.opted_out == set()


def test_fail_next_answers_in_order_and_sends_nothing(fake):
    fake.fail_next = [500, 503]
    for status in (500, 503):
        with pytest.raises(TwilioRestException) as caught:
            send(fake)
        assert caught.value.status == status
    assert fake.messages == [] and len(fake.requests) == 2
    assert send(fake).status == "queued"


def test_down_answers_every_request(fake):
    fake.down = True
    for _ in range(2):
        with pytest.raises(TwilioRestException) as caught:
            send(fake)
        assert caught.value.status == 500
    fake.down_status = 503
    with pytest.raises(TwilioRestException) as caught:
        send(fake)
    assert caught.value.status == 503
    assert fake.messages == []
    fake.down = False
    send(fake)
    assert len(fake.messages) == 1


def test_a_lost_answer_raises_while_the_message_was_sent(fake):
    fake.lose_next = 1
    with pytest.raises(requests.ConnectionError):
        send(fake)
    assert [m.to for m in fake.messages] == [MEMBER]
    send(fake)
    assert len(fake.messages) == 2


def test_a_stall_outlasts_the_clients_timeout(fake):
    fake.stall_seconds, fake.stall_next = 1.0, 1
    with pytest.raises(requests.Timeout):
        client(fake, timeout=0.2).messages.create(to=MEMBER, from_=FROM_NUMBER, body="Hi")


def test_a_call_is_recorded_with_its_twiml(fake):
    twiml = "<Response><Say>Your group starts soon.</Say></Response>"
    call = client(fake).calls.create(to=MEMBER, from_=FROM_NUMBER, twiml=twiml)
    assert call.sid.startswith("CA") and len(call.sid) == 34 and call.status == "queued"
    [recorded] = fake.calls
    assert (recorded.sid, recorded.to, recorded.from_, recorded.twiml) == (
        call.sid,
        MEMBER,
        FROM_NUMBER,
        twiml,
    )
    with pytest.raises(TwilioRestException) as caught:
        client(fake).calls.create(to="555", from_=FROM_NUMBER, twiml=twiml)
    assert caught.value.code == 21211


def test_other_paths_are_not_found(fake):
    with pytest.raises(TwilioRestException) as caught:
        client(fake).messages("SM" + "0" * 32).fetch()
    assert (caught.value.status, caught.value.code) == (404, 20404)


def test_the_signature_is_twilios():
    fake = fake_twilio.FakeTwilio()
    url = "https://grouport.example/twilio/inbound?x=1"
    params = fake.inbound_params(MEMBER, "Hello")
    assert RequestValidator(AUTH_TOKEN).validate(url, params, fake.signature(url, params))
    assert not RequestValidator("another token").validate(url, params, fake.signature(url, params))
    assert params["SmsStatus"] == "received" and params["From"] == MEMBER and params["To"] == FROM_NUMBER


def test_status_params_follow_a_recorded_message(fake):
    sid = send(fake).sid
    params = fake.status_params(sid, "undelivered", error_code=30003)
    assert params["MessageStatus"] == params["SmsStatus"] == "undelivered"
    assert (params["MessageSid"], params["To"], params["ErrorCode"]) == (sid, MEMBER, "30003")
    assert fake.messages[0].status == "undelivered"


def test_twiml_messages():
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        "<Response><Message>One</Message><Message><Body>Two</Body></Message></Response>"
    )
    assert fake_twilio.twiml_messages(xml) == ["One", "Two"]
    assert fake_twilio.twiml_messages("<Response/>") == []
    assert fake_twilio.twiml_messages("not xml") == []


@pytest.fixture
def webhook():
    """A live endpoint that checks the signature and answers incoming texts with TwiML."""
    seen = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_POST(self) -> None:
            params = dict(
                parse_qsl(
                    self.rfile.read(int(self.headers["Content-Length"])).decode(), keep_blank_values=True
                )
            )
            url = f"http://127.0.0.1:{self.server.server_address[1]}{self.path}"
            valid = RequestValidator(AUTH_TOKEN).validate(url, params, self.headers["X-Twilio-Signature"])
            seen.append(params)
            data = f"<Response><Message>You said {params.get('Body', '')}</Message></Response>".encode()
            self.send_response(200 if valid else 403)
            self.send_header("Content-Type", "text/xml")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/twilio/sms", seen
    server.shutdown()
    server.server_close()


def test_deliver_signs_and_sends_the_twiml_reply(fake, webhook):
    url, seen = webhook
    status, text = fake.deliver(url, fake.inbound_params(MEMBER, "hello"))
    assert status == 200 and "You said hello" in text
    assert seen[0]["Body"] == "hello"
    [reply] = fake.messages
    assert (reply.to, reply.from_, reply.body, reply.via) == (MEMBER, FROM_NUMBER, "You said hello", "twiml")

    # Twilio does not send a TwiML reply to a number that opted out, nor acts on a callback's answer.
    fake.deliver(url, fake.inbound_params(MEMBER, "STOP"))
    assert fake.refused == [(MEMBER, "You said STOP", 21610)]
    fake.deliver(url, fake.status_params(reply.sid, "delivered"))
    assert len(fake.messages) == 1


def test_use_in_settings(fake, settings):
    fake_twilio.use_in_settings(settings, fake)
    assert settings.TWILIO_ACCOUNT_SID == ACCOUNT_SID and len(ACCOUNT_SID) == 34
    assert settings.TWILIO_AUTH_TOKEN == AUTH_TOKEN and settings.TWILIO_FROM_NUMBER == FROM_NUMBER
    assert fake.url == settings.TWILIO_API_BASE
