"""Signing up from a phone: the time zone starts at the browser's only when that is a US zone,
and a form sent back with an error leaves the person's own answer alone."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def fill_but_the_zone(page, email: str) -> None:
    page.get_by_label(re.compile(r"^Email")).fill(email)
    page.get_by_label(re.compile(r"^Password:?$")).fill("a sturdy passphrase 42")
    page.get_by_label(re.compile(r"^Password \(again\)")).fill("a sturdy passphrase 42")
    page.get_by_label(re.compile(r"^First name")).fill("Flora")
    page.get_by_label(re.compile(r"^Last name")).fill("Ruiz")
    page.get_by_label(re.compile(r"^State you live in")).select_option(label="Florida")


def test_a_panhandle_browser_starts_at_central_and_one_abroad_is_asked(page_factory, live_server, screenshot):
    chicago = page_factory(timezone_id="America/Chicago")
    chicago.goto(f"{live_server.url}/accounts/signup/")
    expect(chicago.locator('select[name="time_zone"]')).to_have_value("America/Chicago")

    madrid = page_factory(timezone_id="Europe/Madrid")
    madrid.goto(f"{live_server.url}/accounts/signup/")
    zone = madrid.locator('select[name="time_zone"]')
    expect(zone).to_have_value("")  # a zone abroad is the person's to pick, not ours
    fill_but_the_zone(madrid, "flora@example.test")
    madrid.get_by_role("main").get_by_role("button", name=re.compile("sign up", re.I)).click()
    summary = madrid.locator('[role="alert"][tabindex="-1"]')
    expect(summary).to_be_focused()  # on a phone the one error is far below: the summary first
    expect(summary.get_by_role("link", name="Your time zone")).to_be_visible()
    expect(zone).to_have_value("")  # still the person's to answer: nothing filled behind their back
    expect(madrid.get_by_label(re.compile(r"^Password:?$"))).to_have_value("a sturdy passphrase 42")
    screenshot(madrid, "asked")
    summary.get_by_role("link", name="Your time zone").click()
    expect(zone).to_be_focused()
