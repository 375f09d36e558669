"""A Spanish-speaking member answers their first questions on a phone: the invitation email,
the questionnaire in its published Spanish, their results."""

import re
from decimal import Decimal

from axe_playwright_python.sync_playwright import Axe
from django.core import mail
from playwright.sync_api import expect

from care.services import surveys_schedule
from enrollment.services.reservations import reservation_confirm, reservation_hold
from tests.factories import ALL_TRUE, GroupFactory, licensed_therapist, member


def test_invitation_questionnaire_and_results_in_spanish(page_factory, live_server, settings, page_log):
    settings.SITE_URL = live_server.url
    group = GroupFactory(title="Grupo de los martes", therapist=licensed_therapist("NY"), price=Decimal("0"))
    ana = member(state="NY", language="es", first_name="Ana")
    reservation_confirm(
        reservation=reservation_hold(member=ana, group=group, attestations=ALL_TRUE), actor=ana
    )
    assert surveys_schedule()  # the periodic job: her baseline questions are due now
    [invitation] = [m for m in mail.outbox if m.to == [ana.email] and "preguntas" in m.subject]
    assert invitation.body.startswith("¿Necesita ayuda ahora?")
    link = re.search(r"(http://\S+/questions/\S+/)", invitation.body).group(1)

    page = page_factory(locale="es-US")
    page.goto(link)
    page.locator("input[name=login]").fill(ana.email)
    page.locator("input[name=password]").fill("correct horse battery")
    page.locator("main form button[type=submit]").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("¿Cómo ha estado?")
    expect(page.get_by_text("1. Poco interés o placer en hacer cosas")).to_be_visible()
    assert Axe().run(page).response["violations"] == []
    for question in page.locator('fieldset.question:not([id$="-follow"])').all():
        question.get_by_label("Varios días").check()
    page.get_by_label("Un poco difícil").check()  # PHQ-9's closing question, unscored
    page.get_by_role("button", name="Enviar mis respuestas").click()
    # Item 9 answered "Varios días": the help page comes first.
    expect(page.get_by_role("heading", level=1)).to_have_text("No tiene que pasar por esto solo(a)")
    expect(page.get_by_role("link", name="Llamar al 988")).to_have_attribute("href", "tel:988")
    page.get_by_role("link", name="Ver sus respuestas").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sus respuestas")
    expect(page.get_by_role("row", name=re.compile("PHQ-9"))).to_contain_text("9 / 27")
    expect(page.get_by_role("row", name=re.compile("GAD-7"))).to_contain_text("7 / 21")
