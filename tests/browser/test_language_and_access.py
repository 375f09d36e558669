"""On a phone, in English and Spanish: help one tap away at the top of every member page,
0 accessibility violations (axe-core, bundled with axe-playwright-python, never a CDN), the
language from the browser and the switch, and times in the visitor's own zone."""

import re
from decimal import Decimal

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from enrollment.services.reservations import reservation_confirm, reservation_hold
from groups.models import Group
from tests.factories import ALL_TRUE, GroupFactory, licensed_therapist, member

PASSWORD = "correct horse battery"
AXE = Axe()
HELP = {"en": "Need help now? Call or text 988", "es": "¿Necesita ayuda ahora? Llame o escriba al 988"}


def sign_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.locator("input[name=login]").fill(email)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/my/$"))


def check(page: Page, url: str, language: str, problems: list[str]) -> None:
    """Open ``url``: the help link is the first thing after "skip", in view at the top, in the
    page's language; axe finds nothing."""
    response = page.goto(url)
    assert response is not None and response.status < 500, url
    path = url.split("//", 1)[1].split("/", 1)[1]
    if page.locator("html").get_attribute("lang") != language:
        problems.append(f"/{path}: html lang is {page.locator('html').get_attribute('lang')}")
    help_link = page.locator("body > .help-now a")
    if help_link.inner_text().strip() != HELP[language]:
        problems.append(f"/{path}: help link reads {help_link.inner_text()!r}")
    box = help_link.bounding_box()
    if box is None or box["y"] > 40:
        problems.append(f"/{path}: help link not at the top ({box})")
    page.keyboard.press("Tab")  # the skip link
    page.keyboard.press("Tab")
    if page.evaluate("document.activeElement.getAttribute('href')") != "/help/":
        problems.append(f"/{path}: the second tab stop is not the help link")
    results = AXE.run(page)
    for violation in results.response["violations"]:
        targets = [node["target"] for node in violation["nodes"]][:3]
        problems.append(f"/{path}: axe {violation['id']} ({violation['impact']}): {targets}")


@pytest.mark.parametrize("language", ["en", "es"])
def test_every_member_page_has_help_first_and_no_accessibility_violation(
    page_factory, live_server, page_log, language
):
    page = page_factory(locale="es-US" if language == "es" else "en-US")
    base = live_server.url
    therapy = GroupFactory(title="Evening Group", price=Decimal("320.00"), therapist=licensed_therapist("NY"))
    skills = GroupFactory(title="Skills Group", kind=Group.Kind.SKILLS, price=Decimal("0"))
    alex = member(state="NY")
    held = reservation_hold(member=alex, group=therapy, attestations=ALL_TRUE)
    confirmed = reservation_confirm(
        reservation=reservation_hold(member=alex, group=skills, attestations=ALL_TRUE), actor=alex
    )
    problems: list[str] = []
    public = ["/", "/?state=CA", f"/groups/{therapy.slug}/", f"/groups/{skills.slug}/", "/help/", "/about/",
              "/privacy/", "/terms/", "/contact/", "/agreement/", "/accounts/login/", "/accounts/signup/",
              "/accounts/password/reset/", "/no-such-page/"]  # fmt: skip
    for path in public:
        check(page, base + path, language, problems)
    sign_in(page, base, alex.email)
    signed_in = ["/my/", "/account/profile/", f"/reservations/{held.pk}/", f"/reservations/{held.pk}/pay/",
                 f"/reservations/{held.pk}/cancel/", f"/reservations/{confirmed.pk}/",
                 f"/groups/{therapy.slug}/reserve/", "/accounts/password/change/",
                 "/accounts/email/"]  # fmt: skip
    for path in signed_in:
        check(page, base + path, language, problems)
    # The reserve form sent without its statements: the errors next to the boxes, still clean.
    page.goto(f"{base}/groups/{GroupFactory(therapist=licensed_therapist('NY')).slug}/reserve/")
    page.evaluate("document.querySelectorAll('input[required]').forEach(i => i.removeAttribute('required'))")
    page.locator("main form button[type=submit]").click()
    expect(page.locator(".field-error").first).to_be_visible()
    problems += [f"reserve errors: axe {v['id']}" for v in AXE.run(page).response["violations"]]
    assert problems == [], "\n".join(problems)


def test_spanish_from_the_browser_and_the_switch_turns_it_back(page_factory, live_server, page_log):
    page = page_factory(locale="es-US")  # the browser sends Accept-Language: es-US
    base = live_server.url
    group = GroupFactory(title="Evening Group", price=Decimal("320.00"), therapist=licensed_therapist("NY"))
    alex = member(state="NY")

    page.goto(base + "/")
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.get_by_role("heading", level=1)).to_have_text("Grupos de DBT en línea")
    page.goto(f"{base}/groups/{group.slug}/")
    expect(page.get_by_role("heading", name="Calendario")).to_be_visible()
    sign_in(page, base, alex.email)
    expect(page.get_by_role("heading", level=1)).to_have_text("Mis grupos")
    page.goto(f"{base}/groups/{group.slug}/reserve/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Reservar un lugar")
    expect(page.get_by_text("Antes de tomar un lugar, por favor confirme:")).to_be_visible()

    page.get_by_role("button", name="English").click()
    expect(page).to_have_url(re.compile(rf"/groups/{group.slug}/reserve/$"))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Reserve a seat")
    page.goto(base + "/my/")  # the choice holds on the next page, whatever the browser says
    expect(page.get_by_role("heading", level=1)).to_have_text("My groups")
    alex.refresh_from_db()
    assert alex.language == "en"  # and on the profile, for emails
    page.get_by_role("button", name="Español").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mis grupos")


def test_a_visitor_in_los_angeles_reads_pacific_time_and_works_without_the_script(
    page_factory, live_server, page_log
):
    GroupFactory(title="Evening Group", therapist=licensed_therapist("NY"))
    la = page_factory(timezone_id="America/Los_Angeles")
    la.goto(live_server.url + "/")
    expect(la.locator("[data-zone-note]")).to_contain_text("Pacific time")  # the script told the server
    expect(la.locator("[data-zone-note]")).to_have_attribute("data-zone-source", "browser")

    no_script = page_factory(timezone_id="America/Los_Angeles", java_script_enabled=False)
    no_script.goto(live_server.url + "/")
    expect(no_script.locator("[data-zone-note]")).to_contain_text("Eastern time")  # stated, not hidden
    expect(no_script.get_by_role("heading", level=1)).to_have_text("Online DBT groups")
