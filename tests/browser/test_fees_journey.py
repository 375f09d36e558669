"""On a phone: a member chooses the reduced fee (with their word), applies a code, pays on
Stripe's hosted page (the fake) the price shown, and opens the receipt from My groups."""

import re
from decimal import Decimal

from playwright.sync_api import Page, expect

from billing.models import FeeTier, PromoCode
from tests import fake_stripe
from tests.factories import GroupFactory, licensed_therapist, member


def test_a_member_pays_a_reduced_fee_with_a_code_and_keeps_the_receipt(
    page: Page, live_server, page_log, screenshot, settings
):
    fake, server = fake_stripe.start()
    try:
        fake_stripe.use_in_settings(settings, fake)
        settings.SITE_URL = live_server.url
        fake.webhook_url = f"{live_server.url}/billing/stripe/webhook/"
        group = GroupFactory(
            title="Tuesday Group", price=Decimal("320.00"), therapist=licensed_therapist("NY")
        )
        FeeTier.objects.create(group=group, kind="reduced", price=Decimal("200.00"))
        PromoCode.objects.create(code="WELCOME10", percent_off=10)
        member(email="dana@example.test", state="NY")

        page.goto(f"{live_server.url}/accounts/login/?next=/groups/{group.slug}/reserve/")
        page.get_by_label(re.compile(r"^Email")).fill("dana@example.test")
        page.get_by_label(re.compile(r"^Password")).fill("correct horse battery")
        page.get_by_role("main").get_by_role("button", name=re.compile("sign in", re.I)).click()
        page.get_by_label(re.compile("the state on my profile")).check()
        page.get_by_label(re.compile("I will attend every session")).check()
        page.get_by_label(re.compile("accept the group agreement")).check()
        page.get_by_role("button", name="Hold my seat and pay").click()

        expect(page.get_by_role("heading", name="Pay for your seat")).to_be_visible()
        page.get_by_label("Reduced fee: $200.00").check()
        page.get_by_role("button", name="Use this fee").click()
        expect(page.get_by_role("alert")).to_contain_text("Tick the box")  # their word first
        page.get_by_label("Reduced fee: $200.00").check()
        page.get_by_label("I confirm the reduced fee is what I can pay.").check()
        page.get_by_role("button", name="Use this fee").click()
        page.get_by_label("Promotion code").fill("nope")
        page.get_by_role("button", name="Apply").click()
        expect(page.get_by_role("alert")).to_contain_text("not one we know")
        page.get_by_label("Promotion code").fill("welcome10")
        page.get_by_role("button", name="Apply").click()
        expect(page.get_by_text("Code WELCOME10: $20.00 off.")).to_be_visible()
        screenshot(page, "pay")
        page.get_by_role("link", name="Pay $180.00 by card").click()
        expect(page.get_by_role("heading", name="Fake Stripe Checkout")).to_be_visible()
        page.get_by_role("button", name="Pay $180.00").click()
        expect(page.get_by_text("Your seat is confirmed.")).to_be_visible(timeout=15_000)

        page.goto(f"{live_server.url}/my/")
        page.get_by_role("link", name="Receipts").first.click()
        page.get_by_role("link", name=re.compile(r"^Receipt P-")).click()
        expect(page.get_by_text("$180.00 USD")).to_be_visible()
        assert "Tuesday Group" not in page.locator("article").inner_text()  # nothing clinical, no title
        screenshot(page, "receipt")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1  # nothing scrolls sideways
        assert not page_log.page_errors, page_log.summary()
    finally:
        server.shutdown()
        server.server_close()
