"""A Spanish-speaking newcomer on a phone, from sign-up to their first session: the care
details, the telehealth consent, a seat held for the clinician's review, approval, payment,
and a check-in from somewhere other than home."""

import datetime as dt
import re
from decimal import Decimal

from django.core import mail
from django.utils import timezone, translation
from django.utils.translation import gettext
from playwright.sync_api import expect

from attendance.models import CheckIn
from enrollment.models import Reservation
from enrollment.services.review import reservation_review_approve
from groups.models import GroupSession
from intake.models import MemberIntake, ScreeningQuestion
from tests.factories import GroupFactory, licensed_therapist


def es(text: str) -> str:
    with translation.override("es"):
        return gettext(text)


def test_spanish_newcomer_intake_consent_review_pay_and_check_in_away_from_home(
    page_factory, live_server, settings, page_log, screenshot
):
    settings.SITE_URL = live_server.url
    settings.STRIPE_SECRET_KEY = ""  # the offline stand-in takes the money
    group = GroupFactory(
        title="Grupo DBT de los lunes",
        price=Decimal("150.00"),
        therapist=licensed_therapist("NY", "NJ"),
        requires_review=True,
        # The "video service" is a page of this server, so the browser may go there.
        video_url=f"{live_server.url}/healthz?room=monday",
    )
    page = page_factory(locale="es-US")
    reserve_url = f"/groups/{group.slug}/reserve/"

    # Sign up in Spanish and verify the address.
    page.goto(f"{live_server.url}/accounts/signup/?next={reserve_url}")
    page.locator("input[name=email]").fill("lucia@example.test")
    page.locator("input[name=password1]").fill("una frase larga y segura 42")
    page.locator("input[name=password2]").fill("una frase larga y segura 42")
    page.locator("input[name=first_name]").fill("Lucía")
    page.locator("input[name=last_name]").fill("Gómez")
    page.locator("select[name=state]").select_option("NJ")
    page.locator("main form button[type=submit]").click()
    [welcome] = mail.outbox
    link = re.search(r"https?://[^/\s]+(/accounts/confirm-email/\S+/)", welcome.body).group(1)
    page.goto(live_server.url + link)
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(rf"{reserve_url}$"))

    # The care details, in Spanish, with the screening questions in their Spanish words.
    # The date of birth alone first (the group's ages), then the rest.
    page.get_by_role("link", name=es("Give my details")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(es("Your care details"))
    page.locator("input[name=birth_date]").fill("1990-07-21")
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(rf"{reserve_url}$"))
    page.get_by_role("link", name=es("Give my details")).click()
    expect(page.get_by_text("¿Está viendo ahora a un terapeuta o psiquiatra individual?")).to_be_visible()
    page.locator("input[name=birth_date]").fill("1990-07-21")
    page.locator("input[name=phone]").fill("201 555 0142")
    page.locator("input[name=emergency_name]").fill("Marta Gómez")
    page.locator("input[name=emergency_relationship]").fill("Hermana")
    page.locator("input[name=emergency_phone]").fill("201 555 0199")
    page.locator("input[name=address_line]").fill("45 Bergen Ave")
    page.locator("input[name=address_city]").fill("Jersey City")
    page.locator("select[name=address_state]").select_option("NJ")
    page.locator("input[name=address_postal_code]").fill("07305")
    for question in ScreeningQuestion.objects.filter(active=True):
        if question.kind == "yes_no":
            page.locator(
                f"input[name=q_{question.pk}][value={'yes' if 'no' in question.flags_on else 'no'}]"
            ).check()
        elif question.kind == "choice":
            page.locator(f"input[name=q_{question.pk}]").first.check()
    screenshot(page, "intake")
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(rf"{reserve_url}$"))
    assert MemberIntake.objects.get(member__email="lucia@example.test").phone == "+12015550142"

    # The consent, read and signed by typing her name.
    page.get_by_role("link", name=es("Read and sign")).click()
    expect(page.get_by_text("Sin grabaciones.", exact=False).first).to_be_visible()
    page.locator("input[name=signed_name]").fill("Lucía Gómez")
    page.locator("input[name=agree]").check()
    screenshot(page, "consent")
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(rf"{reserve_url}$"))

    # The seat is held for review: nothing to pay yet, and the page says so.
    for name in ("attest_residence", "attest_location", "accept_agreement"):
        page.locator(f"input[name={name}]").check()
    page.get_by_role("button", name=es("Hold my seat for review")).click()
    expect(page.get_by_text(es("Your seat is held while a clinician reviews your intake."))).to_be_visible()
    screenshot(page, "held-for-review")
    seat = Reservation.objects.get(member__email="lucia@example.test")
    assert seat.status == Reservation.Status.REVIEW

    # The therapist approves; the email (in Spanish) leads her to pay.
    mail.outbox.clear()
    reservation_review_approve(reservation=seat, actor=group.therapist.user, note="Buena candidata.")
    [approved] = [m for m in mail.outbox if m.to == ["lucia@example.test"]]
    assert approved.subject == es("You can pay for your seat now")
    pay_link = re.search(r"(http://\S+/reservations/\d+/)", approved.body).group(1)
    page.goto(pay_link)
    page.get_by_role("link", name=es("Continue to payment")).click()
    page.locator("main form button[type=submit]").click()
    expect(page.get_by_text(es("Your seat is confirmed.")).first).to_be_visible()

    # The first session is about to start: she checks in from her sister's, not from home.
    now = timezone.now()
    GroupSession.objects.filter(group=group, number=1).update(
        starts_at=now + dt.timedelta(minutes=5), ends_at=now + dt.timedelta(minutes=95)
    )
    page.goto(f"{live_server.url}/my/")
    page.get_by_role("link", name=es("Join now")).click()
    expect(page.get_by_text(re.compile(r"45 Bergen Ave, Jersey City, NJ 07305"))).to_be_visible()
    page.locator("select[name=state]").select_option("NJ")
    page.locator("input[name=at_usual_address][value=no]").check()
    page.locator("input[name=location]").fill("12 Shore Rd, Cape May, NJ")
    screenshot(page, "check-in")
    page.get_by_role("button", name=es("I'm here: check in and join")).click()
    expect(page).to_have_url(re.compile(r"/healthz\?room=monday$"))  # on to the video
    check_in = CheckIn.objects.get(reservation=seat)
    assert check_in.admitted and check_in.location == "12 Shore Rd, Cape May, NJ"
    assert not check_in.at_usual_address
