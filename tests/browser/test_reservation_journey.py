"""A new member on a phone: sign up, verify, reserve, pay (offline), calendar, cancel."""

import re
from decimal import Decimal

from django.core import mail
from playwright.sync_api import Page, expect

from enrollment.models import Reservation
from tests.factories import GroupFactory, licensed_therapist


def test_new_member_signs_up_reserves_pays_offline_and_cancels(page: Page, live_server, page_log, screenshot):
    group = GroupFactory(
        title="Tuesday Evening DBT Therapy Group",
        price=Decimal("320.00"),
        capacity=8,
        therapist=licensed_therapist("NY", "NJ"),
    )

    # From the group's page, "Reserve a seat" asks them to log in or sign up.
    page.goto(f"{live_server.url}/groups/{group.slug}/")
    page.get_by_role("link", name="Reserve a seat").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next="))
    page.get_by_role("main").get_by_role("link", name=re.compile("sign up", re.I)).click()

    page.get_by_label(re.compile(r"^Email")).fill("jamie@example.test")
    page.get_by_label(re.compile(r"^Password:?$")).fill("a sturdy passphrase 42")
    page.get_by_label(re.compile(r"^Password \(again\)")).fill("a sturdy passphrase 42")
    page.get_by_label(re.compile(r"^First name")).fill("Jamie")
    page.get_by_label(re.compile(r"^Last name")).fill("Lee")
    page.get_by_label(re.compile(r"^State you live in")).select_option(label="New Jersey")
    page.get_by_role("main").get_by_role("button", name=re.compile("sign up", re.I)).click()
    expect(page.get_by_role("heading", name=re.compile("verify your email", re.I))).to_be_visible()

    # The verification link from the captured email logs them in and returns them to the group.
    [message] = mail.outbox
    assert message.to == ["jamie@example.test"] and "988" in message.body
    link = re.search(r"https?://[^/\s]+(/accounts/confirm-email/\S+/)", message.body).group(1)
    page.goto(live_server.url + link)
    page.get_by_role("button", name="Confirm").click()
    expect(page).to_have_url(re.compile(rf"/groups/{group.slug}/reserve/$"))

    # Before a therapy seat: the care details, then the telehealth consent, then back here.
    # The date of birth alone first (the group's ages), then the rest.
    page.get_by_role("link", name="Give my details").click()
    page.get_by_label("Date of birth").fill("1992-04-05")
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(rf"/groups/{group.slug}/reserve/$"))
    page.get_by_role("link", name="Give my details").click()
    expect(page.get_by_label("Date of birth")).to_have_value("1992-04-05")
    page.get_by_label("Your mobile number").fill("201 555 0143")
    page.get_by_label("Emergency contact: name").fill("Robin Lee")
    page.get_by_label("Emergency contact: how you know them").fill("Sister")
    page.get_by_label("Emergency contact: phone").fill("201 555 0188")
    page.get_by_label("Street address where you usually join from").fill("12 Palisade Ave")
    page.get_by_label("City", exact=True).fill("Jersey City")
    page.get_by_label("State", exact=True).select_option("NJ")
    page.get_by_label("ZIP code").fill("07306")
    page.get_by_role("group", name=re.compile("individual therapist")).get_by_label("Yes").check()
    page.get_by_role("group", name=re.compile("stayed in a hospital")).get_by_label("No").check()
    page.get_by_role("group", name=re.compile("starting a group")).get_by_label("Ready").check()
    screenshot(page, "intake")
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(rf"/groups/{group.slug}/reserve/$"))
    page.get_by_role("link", name="Read and sign").click()
    expect(page.get_by_text("No recording.")).to_be_visible()
    page.get_by_label("Type your full name to sign").fill("Jamie Lee")
    page.get_by_label(re.compile("I have read this consent")).check()
    page.get_by_role("button", name="Sign", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/groups/{group.slug}/reserve/$"))

    # The eligibility answer in plain words, the attestations, the hold.
    expect(page.get_by_text("as a resident of New Jersey you can join this group")).to_be_visible()
    page.get_by_label(re.compile("the state on my profile")).check()
    page.get_by_label(re.compile("I will attend every session")).check()
    page.get_by_label(re.compile("accept the group agreement")).check()
    screenshot(page, "attestations")
    page.get_by_role("button", name="Hold my seat and pay").click()

    # The offline pay step, with the countdown ticking.
    expect(page.get_by_role("heading", name="Pay for your seat")).to_be_visible()
    expect(page.locator(".countdown")).to_have_text(
        re.compile(r"^(29|30) minutes left \(until (today|tomorrow), \d{1,2}:\d{2} (AM|PM)\)$")
    )
    screenshot(page, "pay")
    page.get_by_role("button", name=re.compile(r"Pay \$320\.00 \(test mode\)")).click()
    expect(page.get_by_text("Your seat is confirmed.").first).to_be_visible()

    # "My groups": upcoming sessions in their zone, the join link, the calendar file.
    page.get_by_role("link", name="Go to My groups").click()
    expect(page.get_by_role("heading", name=group.title)).to_be_visible()
    expect(page.get_by_role("link", name=re.compile(r"^Join"))).to_have_attribute(
        "href", re.compile(r"^/join/")
    )
    assert group.video_url not in page.content()
    expect(page.get_by_role("main").get_by_role("listitem")).to_have_count(group.weeks)
    screenshot(page, "my-groups")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download calendar (.ics)").click()
    ics = download_info.value.path().read_text(encoding="utf-8")
    assert ics.count("BEGIN:VEVENT") == group.weeks
    assert "jamie@example.test" in ics

    # Cancel, after reading the policy.
    page.get_by_role("link", name="Cancel", exact=True).click()
    expect(page.get_by_text("48 hours")).to_be_visible()
    expect(page.get_by_text("You will be refunded $320.00.")).to_be_visible()
    page.get_by_role("button", name="Yes, cancel my reservation").click()
    expect(page.get_by_text("Your reservation is cancelled. $320.00 will be refunded.")).to_be_visible()
    expect(page.get_by_text("You have no seats yet.")).to_be_visible()
    assert Reservation.objects.get().status == Reservation.Status.CANCELLED
    assert [m.subject for m in mail.outbox[1:]] == [
        "Your seat is confirmed",
        "Your reservation is cancelled",
        "Refund of $320.00",
    ]
    assert not page_log.failed_requests, page_log.summary()
    assert not page_log.page_errors, page_log.summary()
