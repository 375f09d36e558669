"""Text reminders a member asked for: the opt-in (never ticked for them, with the carriers'
words), the confirmation, STOP/START/HELP in English and Spanish through the signed webhook,
quiet hours, one text per session and none for a session they can't make."""

import datetime as dt
import re

import pytest
import time_machine
from django.core import mail

from attendance.models import Attendance, Reminder
from attendance.services.reminders import reminders_claim_due
from grouport.models import AuditEntry
from groups.models import GroupSession
from tests.factories import GroupFactory, licensed_therapist, member, seated, sign_in
from tests.texting.helpers import STATUS, WEBHOOK, deliver_outbox, post_signed, text_in
from texting.models import InboundText, StoppedNumber, TextMessage, TextSubscription
from texting.services import subscription_set

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]

PHONE = "+12125550147"


def texts_on(who, phone=PHONE):
    subscription_set(member=who, receive=True, phone=phone)
    deliver_outbox()


# --- Opting in


def test_the_opt_in_is_never_ticked_and_says_what_the_carriers_require(client):
    who = member()
    sign_in(client, who)
    page = client.get("/account/texts/").content.decode()
    assert 'name="receive"' in page and "checked" not in page.split('name="receive"')[1].split(">")[0]
    for words in ("grouport", "about one text per session", "Reply STOP to opt out, HELP for help",
                  "Message and data rates may apply"):  # fmt: skip
        assert words in page
    # The number from their intake is offered, not taken: nothing changes until they tick it.
    assert "(212) 555" in page or "212" in page
    client.post("/account/texts/", {"phone": "212 555 0147"})
    assert not TextSubscription.objects.filter(status="on").exists()


def test_turning_texts_on_keeps_the_words_and_texts_a_confirmation_in_their_language(client, twilio_fake):
    who = member(language="es")
    sign_in(client, who)
    response = client.post("/account/texts/", {"receive": "on", "phone": "(212) 555-0147"})
    assert response.status_code == 302
    deliver_outbox()
    subscription = TextSubscription.objects.get(member=who)
    assert subscription.status == "on" and subscription.phone == PHONE
    assert "PARAR" in subscription.agreed_words and "STOP" in subscription.agreed_words  # their words
    assert subscription.agreed_at is not None
    (text,) = twilio_fake.texts_to(PHONE)
    assert (text.startswith("grouport:") and "STOP" in text and "AYUDA" in text) or "HELP" in text
    assert "Recibirá" in text or "recibirá" in text  # Spanish
    assert AuditEntry.objects.filter(action__contains="textsubscription").exists()


def test_the_api_turns_texts_on_and_off(client, twilio_fake):
    who = member()
    sign_in(client, who)
    assert client.get("/api/me/texts/").json()["status"] == "off"
    answer = client.put(
        "/api/me/texts/", {"receive": True, "phone": "212-555-0147"}, content_type="application/json"
    )
    assert answer.status_code == 200 and answer.json()["status"] == "on" and answer.json()["phone"] == PHONE
    bad = client.put("/api/me/texts/", {"receive": True, "phone": "12"}, content_type="application/json")
    assert bad.status_code == 400 and bad.json()["code"] == "phone"
    off = client.put("/api/me/texts/", {"receive": False}, content_type="application/json")
    assert off.json()["status"] == "off"
    deliver_outbox()
    assert len(twilio_fake.texts_to(PHONE)) == 1  # the confirmation, once


# --- STOP, START, HELP through the signed webhook


@pytest.mark.parametrize(
    "language, stop, start, help_word, stopped_words, help_words",
    [
        ("en", "STOP", "START", "HELP", "no more texts", "988"),
        ("es", "parar", "COMENZAR", "Ayuda", "no recibirá más", "988"),
    ],
)
def test_stop_start_and_help_act_at_once_in_both_languages(
    client, twilio_fake, language, stop, start, help_word, stopped_words, help_words
):
    who = member(language=language)
    texts_on(who)
    response, _ = text_in(client, twilio_fake, PHONE, f" {stop} ")
    assert response.status_code == 200
    assert TextSubscription.objects.get(member=who).status == "stopped"
    assert StoppedNumber.objects.filter(phone=PHONE).exists()
    assert stopped_words in response.content.decode()
    response, _ = text_in(client, twilio_fake, PHONE, help_word)
    assert help_words in response.content.decode() and "STOP" in response.content.decode()
    response, _ = text_in(client, twilio_fake, PHONE, start)
    assert TextSubscription.objects.get(member=who).status == "on"
    assert not StoppedNumber.objects.exists()


def test_after_stop_no_reminder_and_no_text_of_any_kind_goes(client, twilio_fake):
    group = GroupFactory(therapist=licensed_therapist("NY"))
    reservation = seated(group)
    texts_on(reservation.member)
    text_in(client, twilio_fake, PHONE, "STOP")
    session = group.sessions.order_by("starts_at").first()
    sent_before = len(twilio_fake.messages)
    with time_machine.travel(session.starts_at - dt.timedelta(minutes=50), tick=False):
        reminders_claim_due()
        deliver_outbox()
    assert not Reminder.objects.filter(kind="text").exists()
    assert len([m for m in twilio_fake.messages if m.via == "api"]) == sent_before - 0 - len(
        [m for m in twilio_fake.messages[:sent_before] if m.via != "api"]
    )
    # Even a text queued for that number before the STOP is not sent (it is blocked).
    queued = TextMessage.objects.create(key="x-1", purpose="reminder", to=PHONE)
    from texting.services import text_deliver

    assert text_deliver(message_id=queued.pk, body="grouport: hello") == "blocked"


def test_a_forged_or_replayed_webhook_changes_nothing(client, twilio_fake):
    who = member()
    texts_on(who)
    params = twilio_fake.inbound_params(PHONE, "STOP")
    forged = post_signed(client, twilio_fake, WEBHOOK, params, signature="bm90IHR3aWxpbw==")
    assert forged.status_code == 400 and forged.json()["code"] == "invalid_signature"
    assert TextSubscription.objects.get(member=who).status == "on"
    # Signed for another URL, or with a parameter changed after signing: refused too.
    signature = twilio_fake.signature("https://evil.example/webhooks/twilio/messages/", params)
    assert post_signed(client, twilio_fake, WEBHOOK, params, signature=signature).status_code == 400
    assert TextSubscription.objects.get(member=who).status == "on"
    # The real STOP, then START, then the STOP replayed: it was acted on once.
    _, stop = text_in(client, twilio_fake, PHONE, "STOP", message_sid="SM" + "a" * 32)
    text_in(client, twilio_fake, PHONE, "START")
    assert TextSubscription.objects.get(member=who).status == "on"
    replay = post_signed(client, twilio_fake, WEBHOOK, stop)
    assert replay.status_code == 200
    assert TextSubscription.objects.get(member=who).status == "on"
    assert InboundText.objects.filter(message_sid="SM" + "a" * 32).count() == 1


@pytest.mark.parametrize(
    "change, reason",
    [
        ({"MessageSid": "not-a-sid"}, "MessageSid"),
        ({"From": "hello"}, "From"),
        ({"Body": "x" * 1601}, "Body"),
    ],
)
def test_bad_input_is_a_400_kept_for_staff(client, twilio_fake, change, reason):
    params = {**twilio_fake.inbound_params(PHONE, "STOP"), **change}
    response = post_signed(client, twilio_fake, WEBHOOK, params)
    assert response.status_code == 400 and response.json()["code"] == "malformed_request"
    kept = InboundText.objects.get()
    assert kept.outcome == "rejected" and reason in kept.reason
    assert not StoppedNumber.objects.exists()


def test_words_that_are_not_a_keyword_reach_a_person(client, twilio_fake):
    who = member()
    texts_on(who)
    response, _ = text_in(client, twilio_fake, PHONE, "I don't feel safe tonight")
    assert "988" in response.content.decode()
    kept = InboundText.objects.get(outcome="unread")
    assert kept.status == "new" and "safe" in kept.body
    deliver_outbox()
    (email,) = [m for m in mail.outbox if "text" in m.subject.lower()]
    assert (
        "safe" not in email.body and PHONE not in email.body and "/admin/texting/inboundtext/" in email.body
    )


def test_delivery_reports_move_a_text_forward_never_back(client, twilio_fake):
    who = member()
    texts_on(who)
    text = TextMessage.objects.get(purpose="confirmation")
    assert text.status == "sent"
    delivered = post_signed(
        client, twilio_fake, STATUS, twilio_fake.status_params(text.provider_sid, "delivered")
    )
    assert delivered.json()["changed"] is True
    late = post_signed(client, twilio_fake, STATUS, twilio_fake.status_params(text.provider_sid, "sent"))
    assert late.json()["changed"] is False
    text.refresh_from_db()
    assert text.status == "delivered"
    bad = post_signed(
        client,
        twilio_fake,
        STATUS,
        {**twilio_fake.status_params(text.provider_sid, "x"), "MessageStatus": "exploded"},
    )
    assert bad.status_code == 400


# --- Reminders


def group_at(hour: int, minute: int = 0):
    """A group meeting at ``hour`` New York time."""
    return GroupFactory(therapist=licensed_therapist("NY"), start_time=dt.time(hour, minute))


def first_session(group) -> GroupSession:
    return group.sessions.order_by("starts_at").first()


def test_a_reminder_text_says_when_and_links_and_nothing_else(twilio_fake):
    group = group_at(19)
    reservation = seated(group)
    texts_on(reservation.member)
    session = first_session(group)
    with time_machine.travel(session.starts_at - dt.timedelta(minutes=55), tick=False):
        reminders_claim_due()
        deliver_outbox()
    reminder = twilio_fake.texts_to(PHONE)[-1]
    assert reminder.startswith("grouport: Your group meets at 7:00 PM EST. Join: http")
    assert "/join/" in reminder and "STOP" in reminder
    assert reservation.member.first_name not in reminder and group.title not in reminder


def test_spanish_reminder_in_their_words_and_time(twilio_fake):
    group = group_at(19)
    reservation = seated(group, language="es")
    texts_on(reservation.member)
    session = first_session(group)
    with time_machine.travel(session.starts_at - dt.timedelta(minutes=55), tick=False):
        reminders_claim_due()
        deliver_outbox()
    assert "19:00" in twilio_fake.texts_to(PHONE)[-1] and "Su grupo" in twilio_fake.texts_to(PHONE)[-1]


def test_a_reminder_in_quiet_hours_waits_for_morning(twilio_fake):
    group = group_at(8, 30)  # its reminder would be 7:30 AM
    reservation = seated(group)
    texts_on(reservation.member)
    session = first_session(group)
    with time_machine.travel(session.starts_at - dt.timedelta(minutes=55), tick=False):  # 7:35
        reminders_claim_due()
        assert not Reminder.objects.filter(kind="text").exists()
    with time_machine.travel(session.starts_at - dt.timedelta(minutes=29), tick=False):  # 8:01
        reminders_claim_due()
        assert Reminder.objects.filter(kind="text").count() == 1
        deliver_outbox()
    assert "8:30 AM" in twilio_fake.texts_to(PHONE)[-1]


def test_a_session_in_quiet_hours_is_reminded_on_time(twilio_fake):
    group = group_at(7)  # the session itself is in quiet hours: 6:00 AM is its reminder
    reservation = seated(group)
    texts_on(reservation.member)
    session = first_session(group)
    with time_machine.travel(session.starts_at - dt.timedelta(minutes=59), tick=False):
        reminders_claim_due()
        assert Reminder.objects.filter(kind="text").count() == 1


def test_one_text_per_session_however_often_the_job_runs(twilio_fake):
    group = group_at(19)
    reservation = seated(group)
    texts_on(reservation.member)
    session = first_session(group)
    for minutes in (58, 40, 20, 5):
        with time_machine.travel(session.starts_at - dt.timedelta(minutes=minutes), tick=False):
            reminders_claim_due()
            deliver_outbox()
    reminders = [t for t in twilio_fake.texts_to(PHONE) if "Join" in t]
    assert len(reminders) == 1
    assert Reminder.objects.filter(kind="text").count() == 1


def test_no_text_for_a_session_they_cannot_make(twilio_fake):
    group = group_at(19)
    reservation = seated(group)
    texts_on(reservation.member)
    session = first_session(group)
    Attendance.objects.create(session=session, reservation=reservation, status="excused", source="member")
    with time_machine.travel(session.starts_at - dt.timedelta(minutes=55), tick=False):
        reminders_claim_due()
        assert not Reminder.objects.filter(kind="text").exists()
        deliver_outbox()
    assert not [t for t in twilio_fake.texts_to(PHONE) if "Join" in t]


def test_no_text_for_a_member_who_never_asked(twilio_fake):
    group = group_at(19)
    seated(group)
    session = first_session(group)
    with time_machine.travel(session.starts_at - dt.timedelta(minutes=55), tick=False):
        reminders_claim_due()
        deliver_outbox()
    assert not [m for m in twilio_fake.messages]


CLINICAL = re.compile(
    r"dbt|therap|clinic|depress|anxi|suicid|harm|crisis|mental|phq|gad|score|safety|diagnos|psych|terap|ansiedad",
    re.I,
)


@pytest.mark.parametrize("language", ["en", "es"])
def test_no_text_a_member_gets_names_them_or_says_anything_clinical(client, twilio_fake, language):
    group = GroupFactory(
        title="DBT Therapy Wednesdays", therapist=licensed_therapist("NY"), start_time=dt.time(19)
    )
    reservation = seated(group, language=language, first_name="Rosalind", last_name="Quist")
    who = reservation.member
    texts_on(who)
    for body in ("HELP", "AYUDA", "what is this", "STOP", "START"):
        text_in(client, twilio_fake, PHONE, body)
    session = first_session(group)
    with time_machine.travel(session.starts_at - dt.timedelta(minutes=55), tick=False):
        reminders_claim_due()
        deliver_outbox()
    # Our STOP reply is in "refused": Twilio blocks it (it sends its own) once the number opted out.
    words = [m.body for m in twilio_fake.messages] + [body for _to, body, _code in twilio_fake.refused]
    assert len(words) >= 7 and any("Join" in w or "Entrar" in w for w in words)
    for text in words:
        assert text.startswith("grouport"), text
        assert not CLINICAL.search(text), text
        for private in (who.first_name, who.last_name, who.email, group.title, "Wednesdays"):
            assert private.lower() not in text.lower(), text


def test_the_words_agreed_to_are_the_words_shown_in_the_pages_language(client, twilio_fake):
    who = member()  # English on their profile, reading the page in Spanish
    sign_in(client, who)
    page = client.get("/account/texts/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "Sí, envíenme recordatorios" in page and "Yes, text me" not in page
    client.post("/account/texts/", {"receive": "on", "phone": "212 555 0147"}, HTTP_ACCEPT_LANGUAGE="es")
    assert TextSubscription.objects.get(member=who).agreed_words.startswith("Sí, envíenme")
    api = client.get("/api/me/texts/", HTTP_ACCEPT_LANGUAGE="es").json()
    assert api["opt_in_words"].startswith("Sí, envíenme")


def test_the_number_can_be_changed_while_texts_are_on(client, twilio_fake):
    who = member()
    texts_on(who)
    sign_in(client, who)
    page = client.get("/account/texts/").content.decode()
    assert "Save the number" in page and "Stop text reminders" in page
    bad = client.post("/account/texts/", {"receive": "on", "phone": "12"})
    assert bad.status_code == 400 and "Enter a mobile number" in bad.content.decode()
    client.post("/account/texts/", {"receive": "on", "phone": "646 555 0100"})
    deliver_outbox()
    assert TextSubscription.objects.get(member=who).phone == "+16465550100"
    assert len(twilio_fake.texts_to("+16465550100")) == 1  # the new number is confirmed


def test_start_after_turning_texts_off_on_the_web_turns_them_on_and_says_so_truly(client, twilio_fake):
    who = member()
    texts_on(who)
    subscription_set(member=who, receive=False)
    response, _ = text_in(client, twilio_fake, PHONE, "START")
    assert TextSubscription.objects.get(member=who).status == "on"
    assert "Texts are on again" in response.content.decode()
    stranger, _ = text_in(client, twilio_fake, "+16465550111", "START")
    assert "turn them on in your profile" in stranger.content.decode()
    assert not TextSubscription.objects.filter(phone="+16465550111").exists()


def test_staff_see_who_sent_a_text_that_waits_for_a_person(client, twilio_fake):
    from tests.factories import staff

    who = member(first_name="Rosalind", last_name="Quist")
    texts_on(who)
    text_in(client, twilio_fake, PHONE, "can someone call me")
    desk = staff()
    sign_in(client, desk)
    inbound = InboundText.objects.get(outcome="unread")
    page = client.get(f"/admin/texting/inboundtext/{inbound.pk}/change/").content.decode()
    assert "Rosalind Quist (text reminders)" in page and f"/admin/grouport/user/{who.pk}/change/" in page
    assert AuditEntry.objects.filter(actor=desk, object_type="texting.inboundtext").exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_turning_texts_on_while_stop_arrives_never_leaves_them_on_for_a_stopped_number(client, twilio_fake):
    """The member's two doors (the site and their phone) meet on their row: one goes first."""
    import threading

    from django.db import connection

    who = member()
    subscription_set(member=who, receive=False)
    barrier = threading.Barrier(2)
    errors = []

    def turn_on():
        try:
            barrier.wait()
            subscription_set(member=who, receive=True, phone=PHONE)
        except Exception as exc:  # NumberStopped when STOP went first
            errors.append(type(exc).__name__)
        finally:
            connection.close()

    def stop():
        from texting.services import inbound_text

        try:
            barrier.wait()
            inbound_text(message_sid="SM" + "c" * 32, from_phone=PHONE, body="STOP")
        finally:
            connection.close()

    threads = [threading.Thread(target=turn_on), threading.Thread(target=stop)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors in ([], ["NumberStopped"])
    assert StoppedNumber.objects.filter(phone=PHONE).exists()
    # Whichever went first, the number's STOP holds: they get no texts, and are told so.
    from texting.services import receives_texts

    assert not receives_texts(who)
    sign_in(client, who)
    if errors:  # STOP went first: turning them on was refused then and there, with the reason
        assert client.get("/api/me/texts/").json()["status"] == "off"
    else:  # turned on first, then STOP: the page says the number replied STOP
        assert client.get("/api/me/texts/").json()["status"] == "stopped"
        assert "replied STOP" in client.get("/account/texts/").content.decode()


def test_webhooks_signed_with_a_shared_key_are_read(client, twilio_fake, settings):
    from twilio.request_validator import RequestValidator

    settings.TWILIO_WEBHOOK_SHARED_KEY = "whsk_test_shared"
    who = member()
    texts_on(who)
    params = twilio_fake.inbound_params(PHONE, "STOP")
    url = settings.SITE_URL + WEBHOOK
    signature = RequestValidator("whsk_test_shared").compute_signature(url, params, "HMAC_SHA256")
    header = {"HTTP_X_TWILIO_WEBHOOKS_SIGNATURE_SETTINGS": "key=webhooks_sharedkey_1,algorithm=HMAC_SHA256"}
    # Signed with the account token but claiming the shared key: refused.
    forged = client.post(
        WEBHOOK, params, HTTP_X_TWILIO_SIGNATURE=twilio_fake.signature(url, params), **header
    )
    assert forged.status_code == 400
    assert client.post(WEBHOOK, params, HTTP_X_TWILIO_SIGNATURE=signature, **header).status_code == 200
    assert TextSubscription.objects.get(member=who).status == "stopped"


def test_the_reply_port_with_nobody_to_answer_it_says_so(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    from texting import ports

    monkeypatch.setattr(ports, "_inbound_reply", [])
    with pytest.raises(ImproperlyConfigured):
        ports.inbound_reply(from_phone=PHONE, body="123456")


def test_only_us_mobiles_and_a_few_changes_a_day_so_nobody_runs_up_texts(client, twilio_fake):
    who = member()
    sign_in(client, who)

    def put(phone, receive=True):
        return client.put(
            "/api/me/texts/", {"receive": receive, "phone": phone}, content_type="application/json"
        )

    assert put("+44 7700 900123").json()["code"] == "phone"  # abroad
    assert put("800 555 0142").json()["code"] == "phone"  # toll-free
    for phone in ("212 555 0147", "646 555 0100", "201 555 0142"):
        assert put(phone).status_code == 200
    refused = put("917 555 0100")
    assert refused.status_code == 400 and refused.json()["code"] == "too_many_changes"
    deliver_outbox()
    assert len([m for m in twilio_fake.messages if m.via == "api"]) == 3
