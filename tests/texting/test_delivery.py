"""Sending one text, against the fake Twilio through the real client: each answer the provider
can give leaves the text where it belongs (sent, blocked, failed, or back in line)."""

import io

import pytest
import requests
import urllib3
from django.db.models import QuerySet

from grouport.models import AuditEntry
from tests.factories import member, sign_in, staff
from tests.texting.helpers import WEBHOOK, deliver_outbox, post_signed, text_in
from texting import gateway
from texting.models import InboundText, StoppedNumber, TextMessage, TextSubscription
from texting.services import (
    inbound_text,
    subscription_set,
    text_deliver,
    text_gave_up,
    text_queue,
    text_status_update,
)

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]

PHONE = "+12125550147"


def queued(key: str = "t-1", to: str = PHONE, channel: str = "sms") -> TextMessage:
    return text_queue(key=key, to=to, purpose=TextMessage.Purpose.REMINDER, channel=channel)


def test_a_number_twilio_says_opted_out_is_blocked_and_stopped_for_everything(twilio_fake):
    twilio_fake.opted_out.add(PHONE)
    assert text_deliver(message_id=queued().pk, body="grouport: hello") == "blocked"
    assert StoppedNumber.objects.filter(phone=PHONE).exists()
    assert TextMessage.objects.get().error == "refused (21610)"


def test_a_refusal_no_retry_mends_fails_the_text(twilio_fake):
    twilio_fake.fail_next = [400]
    assert text_deliver(message_id=queued().pk, body="grouport: hello") == "failed"


def test_a_provider_down_puts_the_text_back_in_line_and_raises(twilio_fake):
    twilio_fake.down = True
    message = queued()
    with pytest.raises(gateway.NotSent):
        text_deliver(message_id=message.pk, body="grouport: hello")
    message.refresh_from_db()
    assert message.status == "queued" and message.attempts == 1
    twilio_fake.down = False
    assert text_deliver(message_id=message.pk, body="grouport: hello") == "sent"
    assert text_deliver(message_id=message.pk, body="grouport: hello") == "sent"  # once
    assert len(twilio_fake.messages) == 1


def test_no_answer_fails_a_members_text_and_retries_a_page(twilio_fake):
    twilio_fake.lose_next = 2
    assert text_deliver(message_id=queued("m").pk, body="grouport: hello") == "failed"
    page = queued("p")
    with pytest.raises(gateway.NoAnswer):
        text_deliver(message_id=page.pk, body="grouport: hello", at_most_once=False)
    page.refresh_from_db()
    assert page.status == "queued"


def test_a_provider_nobody_answers_at_is_not_sent(settings):
    from tests.factories import free_port

    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = "AC" + "0" * 32, "token"
    settings.TWILIO_FROM_NUMBER = "+15005550006"
    settings.TWILIO_API_BASE = f"http://127.0.0.1:{free_port()}"  # nobody listens
    with pytest.raises(gateway.NotSent):
        text_deliver(message_id=queued().pk, body="grouport: hello")


@pytest.mark.parametrize(
    "error, kind",
    [
        (requests.ConnectTimeout("slow to connect"), gateway.NotSent),
        (
            requests.ConnectionError(
                urllib3.exceptions.MaxRetryError(
                    None, "/", urllib3.exceptions.NewConnectionError(None, "refused")
                )
            ),
            gateway.NotSent,
        ),
        (requests.ReadTimeout("no answer"), gateway.NoAnswer),
        (requests.ConnectionError("connection reset"), gateway.NoAnswer),
    ],
)
def test_whether_a_failed_request_reached_twilio(error, kind):
    assert isinstance(gateway._sent_or_not(error), kind)


def test_the_console_prints_texts_and_calls():
    console = gateway.ConsoleProvider()
    console.stream = io.StringIO()
    assert console.call(to=PHONE, twiml="<Response/>").sid.startswith("console-")
    assert "Call to +12125550147" in console.stream.getvalue()


def test_a_text_given_up_on_is_failed_whatever_it_was_doing():
    waiting, sending = queued("a"), queued("b")
    TextMessage.objects.filter(pk=sending.pk).update(status="sending")
    for message in (waiting, sending):
        text_gave_up(message_id=message.pk, error="worker stopped while delivering")
    assert set(TextMessage.objects.values_list("status", flat=True)) == {"failed"}


def test_a_report_of_an_opted_out_number_stops_it_and_unknown_reports_change_nothing(twilio_fake):
    message = queued()
    text_deliver(message_id=message.pk, body="grouport: hello")
    message.refresh_from_db()
    assert text_status_update(sid="SM" + "9" * 32, provider_status="delivered") is False
    assert text_status_update(sid=message.provider_sid, provider_status="failed", error_code="21610")
    assert StoppedNumber.objects.filter(phone=PHONE).exists()


def test_turning_texts_on_again_at_the_same_number_texts_nothing_more(twilio_fake):
    who = member()
    subscription_set(member=who, receive=True, phone=PHONE)
    subscription_set(member=who, receive=True, phone=PHONE)
    deliver_outbox()
    assert len(twilio_fake.texts_to(PHONE)) == 1


def test_a_stopped_number_is_told_where_to_text_start(client, twilio_fake):
    who = member()
    text_in(client, twilio_fake, PHONE, "STOP")
    sign_in(client, who)
    answer = client.put("/api/me/texts/", {"receive": True, "phone": PHONE}, content_type="application/json")
    assert answer.json()["code"] == "number_stopped" and "(500) 555-0006" in answer.json()["detail"]


def test_a_replay_racing_the_first_acts_once(monkeypatch):
    sid = "SM" + "5" * 32
    assert "988" in inbound_text(message_sid=sid, from_phone=PHONE, body="HELP")
    monkeypatch.setattr(QuerySet, "exists", lambda self: False)  # it looked before the first committed
    assert inbound_text(message_sid=sid, from_phone=PHONE, body="HELP") is None
    assert InboundText.objects.filter(message_sid=sid).count() == 1


def test_a_request_without_a_message_id_is_kept_for_staff(client, twilio_fake):
    params = twilio_fake.inbound_params(PHONE, "STOP")
    del params["MessageSid"]
    assert post_signed(client, twilio_fake, WEBHOOK, params).status_code == 400
    assert InboundText.objects.get().outcome == "rejected"


def test_staff_mark_a_text_read_and_see_who_has_a_number(client, twilio_fake):
    who = member(first_name="Imelda", last_name="Reyes")
    who.intake.phone = "+16465550111"
    who.intake.save()
    text_in(client, twilio_fake, "+16465550111", "are you there")
    text_in(client, twilio_fake, "+19175550122", "hello")
    desk = staff()
    sign_in(client, desk)
    known, unknown = (
        InboundText.objects.get(from_phone="+16465550111"),
        InboundText.objects.get(from_phone="+19175550122"),
    )
    assert (
        "Imelda Reyes (mobile on their intake)"
        in client.get(f"/admin/texting/inboundtext/{known.pk}/change/").content.decode()
    )
    assert "Nobody we know" in client.get(f"/admin/texting/inboundtext/{unknown.pk}/change/").content.decode()
    client.post(
        "/admin/texting/inboundtext/", {"action": "mark_read", "_selected_action": [known.pk, unknown.pk]}
    )
    assert set(InboundText.objects.values_list("status", flat=True)) == {"read"}
    assert AuditEntry.objects.filter(actor=desk, action__endswith="read").count() == 2
    assert not TextSubscription.objects.exists()
