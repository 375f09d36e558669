"""On a phone: a Spanish-speaking member turns text reminders on and later replies PARAR; a
clinician on call opens the alert from the text, sees how to reach the member, and takes it."""

import datetime as dt
import re

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext
from playwright.sync_api import expect

from care.models import OnCallClinician, OnCallShift, OutcomeSurvey, SafetyAlert
from care.services import _safety_alert_open
from grouport.roles import THERAPIST, role_grant
from tests.factories import (
    GroupFactory,
    UserFactory,
    licensed_therapist,
    member,
    seated,
    second_factor,
    totp_code,
)
from tests.texting.helpers import deliver_outbox
from texting.models import TextSubscription


def es(text: str) -> str:
    with translation.override("es"):
        return gettext(text)


def test_a_spanish_member_turns_texts_on_and_replies_parar(
    page_factory, live_server, settings, twilio_fake, screenshot
):
    settings.SITE_URL = live_server.url
    lucia = member(email="lucia@example.test", language="es", first_name="Lucía")
    page = page_factory(locale="es-US")
    page.goto(f"{live_server.url}/accounts/login/?next=/account/profile/")
    page.locator("input[name=login]").fill(lucia.email)
    page.locator("input[name=password]").fill("correct horse battery")
    page.locator("main form button[type=submit]").click()
    page.get_by_role("link", name=es("Text reminders")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(es("Text reminders"))
    box = page.locator("input[name=receive]")
    expect(box).not_to_be_checked()  # never ticked for them
    expect(page.get_by_text("PARAR (o STOP)").first).to_be_visible()
    expect(page.get_by_label(re.compile("Sí, envíenme recordatorios"))).not_to_be_checked()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "opt-in")
    page.locator("input[name=phone]").fill("201 555 0142")
    box.check()
    page.locator("main form button[type=submit]").click()
    expect(page.get_by_text(es("Text reminders are on. We have sent you a text to confirm."))).to_be_visible()
    deliver_outbox()
    (confirmation,) = twilio_fake.texts_to("+12015550142")
    assert confirmation.startswith("grouport: Recibirá")

    # She replies PARAR from her phone: Twilio posts it, signed, to the live site.
    status, reply = twilio_fake.deliver(
        f"{live_server.url}/webhooks/twilio/messages/", twilio_fake.inbound_params("+12015550142", "PARAR")
    )
    assert status == 200 and "no recibirá más" in reply
    assert TextSubscription.objects.get(member=lucia).status == "stopped"
    page.reload()
    expect(page.get_by_text(re.compile("Su número pidió no recibir mensajes"))).to_be_visible()
    # The box now speaks Spanish too: the words she agrees to are the words she read.
    assert TextSubscription.objects.get(member=lucia).agreed_words.startswith("Sí, envíenme")
    screenshot(page, "stopped")


def test_the_clinician_on_call_opens_the_alert_from_the_text_and_takes_it(
    page_factory, live_server, settings, twilio_fake, screenshot
):
    settings.SITE_URL = live_server.url
    user = UserFactory(is_staff=True, email="oncall@example.test", first_name="Dana", last_name="Night")
    role_grant(user, THERAPIST)
    secret = second_factor(user)
    from allauth.account.models import EmailAddress

    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    now = timezone.now()
    person = OnCallClinician.objects.create(user=user, phone="+12125550101")
    OnCallShift.objects.create(
        clinician=person, starts_at=now - dt.timedelta(hours=1), ends_at=now + dt.timedelta(hours=8)
    )
    group = GroupFactory(therapist=licensed_therapist("NY"))
    reservation = seated(group, at=None, first_name="Rosa", last_name="Quist")
    intake = reservation.member.intake
    intake.emergency_name, intake.emergency_phone = "Ines Quist", "+12125550188"
    intake.save()
    session = group.sessions.order_by("starts_at").first()
    survey = OutcomeSurvey.objects.create(
        reservation=reservation, time_point="baseline", opens_at=session.starts_at, closes_at=session.ends_at
    )
    with transaction.atomic():
        _safety_alert_open(
            survey=survey, response=None, flagged={"PHQ-9": {"9": 2}}, member=reservation.member, now=now
        )
    deliver_outbox()
    (text,) = twilio_fake.texts_to("+12125550101")
    link = re.search(r"(http://\S+/care/alerts/\d+/)", text).group(1)
    assert "Rosa" not in text

    page = page_factory()
    page.goto(link)
    page.locator("input[name=login]").fill(user.email)
    page.locator("input[name=password]").fill("correct horse battery")
    page.locator("main form button[type=submit]").click()
    page.locator("input[name=code]").fill(totp_code(secret))
    page.get_by_role("button", name=re.compile("sign in", re.I)).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Alert #")
    expect(page.get_by_role("link", name=re.compile(r"Call \(212\) 555-0188"))).to_have_attribute(
        "href", "tel:+12125550188"
    )
    expect(page.get_by_role("link", name=re.compile(r"Call \(212\) 555"))).to_have_count(2)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "alert")
    page.get_by_role("button", name="I have it").click()
    expect(page.get_by_text("It is yours")).to_be_visible()
    assert SafetyAlert.objects.get().status == "acknowledged"
