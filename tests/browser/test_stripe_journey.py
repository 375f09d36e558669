"""Paying on Stripe's hosted page (the fake), confirmed only by the signed webhook."""

import re
from decimal import Decimal

from playwright.sync_api import Page, expect

from enrollment.models import Reservation
from tests import fake_stripe
from tests.factories import GroupFactory, licensed_therapist, member


def test_member_pays_on_the_hosted_checkout_and_the_webhook_confirms(
    page: Page, live_server, page_log, screenshot, settings
):
    fake, server = fake_stripe.start()
    try:
        fake_stripe.use_in_settings(settings, fake)
        settings.SITE_URL = live_server.url
        fake.webhook_url = f"{live_server.url}/billing/stripe/webhook/"
        group = GroupFactory(
            title="Panhandle Group", price=Decimal("320.00"), therapist=licensed_therapist("FL")
        )
        member(email="dana@example.test", state="FL", time_zone="America/Chicago")

        page.goto(f"{live_server.url}/accounts/login/?next=/groups/{group.slug}/reserve/")
        page.get_by_label(re.compile(r"^Email")).fill("dana@example.test")
        page.get_by_label(re.compile(r"^Password")).fill("correct horse battery")
        page.get_by_role("main").get_by_role("button", name=re.compile("sign in", re.I)).click()
        expect(page.get_by_role("heading", name="Reserve a seat")).to_be_visible()
        page.get_by_label(re.compile("the state on my profile")).check()
        page.get_by_label(re.compile("I will attend every session")).check()
        page.get_by_label(re.compile("accept the group agreement")).check()
        page.get_by_role("button", name="Hold my seat and pay").click()

        # Stripe's hosted page (the fake on another port): no card data touches our server.
        expect(page.get_by_role("heading", name="Fake Stripe Checkout")).to_be_visible()
        assert page.url.startswith(fake.url)
        screenshot(page, "hosted-checkout")
        page.get_by_role("button", name="Pay $320.00").click()

        # Back on our success page: confirmed once the signed webhook has arrived.
        expect(page.get_by_text("Your seat is confirmed.")).to_be_visible(timeout=15_000)
        page.get_by_role("link", name="Go to My groups").click()
        expect(page.get_by_role("heading", name="Panhandle Group")).to_be_visible()
        expect(page.get_by_text("Times in Central time.")).to_be_visible()
        screenshot(page, "my-groups")
        reservation = Reservation.objects.get()
        assert reservation.status == Reservation.Status.CONFIRMED
        assert reservation.payments.get().status == "paid"
        assert [r.path for r in fake.requests if r.method == "POST"][:2] == [
            "/v1/checkout/sessions",
            f"/checkout/{reservation.payments.get().checkout_session_id}/pay",
        ]
        assert not page_log.page_errors, page_log.summary()
    finally:
        server.shutdown()
        server.server_close()
