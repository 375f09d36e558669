"""A visitor on a phone finds a group they can join, from the catalog to the group's page."""

import re

from playwright.sync_api import Page, expect

from groups.models import Group
from tests.factories import GroupFactory, licensed_therapist


def test_visitor_filters_the_catalog_by_state_and_opens_a_skills_group(
    page: Page, live_server, page_log, screenshot
):
    GroupFactory(title="Brooklyn DBT Therapy", therapist=licensed_therapist("NY"))
    GroupFactory(title="Miami DBT Therapy", therapist=licensed_therapist("FL"))
    skills = GroupFactory(title="DBT Skills for Everyone", kind=Group.Kind.SKILLS)

    def card(title: str):
        return page.get_by_role("article").filter(has=page.get_by_role("heading", name=title))

    # Everything open is listed before the visitor says where they live.
    page.goto(live_server.url + "/")
    expect(page.get_by_role("heading", level=1, name="Online DBT groups")).to_be_visible()
    for title in ("Brooklyn DBT Therapy", "Miami DBT Therapy", "DBT Skills for Everyone"):
        expect(card(title)).to_be_visible()

    # New York: the New York therapy group and the skills group, not the Florida-only one.
    page.get_by_label("I live in").select_option(label="New York")
    page.get_by_role("button", name="Show groups").click()
    expect(page).to_have_url(re.compile(r"[?&]state=NY(&|$)"))
    expect(page.get_by_role("status")).to_contain_text("residents of New York")
    expect(card("Brooklyn DBT Therapy")).to_be_visible()
    expect(card("DBT Skills for Everyone")).to_be_visible()
    expect(card("Miami DBT Therapy")).to_have_count(0)
    expect(page.get_by_label("I live in")).to_have_value("NY")  # the choice is kept

    # California: no therapy groups, told why, and pointed at the skills group.
    page.get_by_label("I live in").select_option(label="California")
    page.get_by_role("button", name="Show groups").click()
    expect(page.get_by_role("status")).to_contain_text("Therapy groups aren't available in California")
    expect(card("DBT Skills for Everyone")).to_be_visible()
    expect(card("Brooklyn DBT Therapy")).to_have_count(0)
    expect(card("Miami DBT Therapy")).to_have_count(0)
    catalog_url = page.url

    # The skills group's own page, with its whole schedule.
    page.get_by_role("link", name="DBT Skills for Everyone").click()
    expect(page).to_have_url(re.compile(rf"/groups/{skills.slug}/$"))
    expect(page.get_by_role("heading", level=1, name="DBT Skills for Everyone")).to_be_visible()
    schedule = page.get_by_role("table").filter(has=page.get_by_role("columnheader", name="Date and time"))
    expect(page.get_by_role("heading", name="Schedule")).to_be_visible()
    rows = schedule.locator("tbody").get_by_role("row")
    expect(rows).to_have_count(skills.weeks)
    assert skills.weeks == 8
    expect(rows.first.get_by_role("cell").first).to_have_text("1")
    expect(rows.first).to_contain_text(re.compile(r"\b\d{1,2}:\d{2} (AM|PM)\b"))
    expect(rows.last.get_by_role("cell").first).to_have_text("8")

    # The crisis footer is on every page.
    footer = page.get_by_role("contentinfo")
    expect(footer.get_by_role("link", name="Call 988")).to_have_attribute("href", "tel:988")
    expect(footer.get_by_role("link", name="text 988", exact=True)).to_have_attribute("href", "sms:988")
    expect(footer.get_by_role("link", name="911")).to_be_visible()
    expect(footer.get_by_text("not a crisis service")).to_be_visible()
    screenshot(page, "skills-group")

    # The catalog as a phone shows it, for a person to look at.
    page.goto(catalog_url)
    expect(card("DBT Skills for Everyone")).to_be_visible()
    screenshot(page, "catalog-california")
    page.goto(live_server.url + "/?state=NY")
    expect(card("Brooklyn DBT Therapy")).to_be_visible()
    screenshot(page)  # var/screenshots/<test name>.png: the New York catalog

    assert not page_log.failed_requests, page_log.summary()
    assert not page_log.page_errors, page_log.summary()
