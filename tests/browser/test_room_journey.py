"""On a phone: a member checks in and the session's room opens on our page, the provider's
(a fake Daily served locally) frame under our header with "Leave" and the crisis line, with
no Content-Security-Policy violation."""

import datetime as dt
import re

from django.utils import timezone
from playwright.sync_api import expect

from tests.factories import GroupFactory, licensed_therapist, seated


def test_a_member_checks_in_and_the_room_opens_on_our_page_under_the_csp(
    page_factory, live_server, settings, screenshot
):
    """The room's page frames the (fake) provider's room, and nothing else, on a phone."""
    from decimal import Decimal

    from attendance.join import join_path
    from tests import fake_daily

    fake, server = fake_daily.start()
    try:
        fake_daily.use_in_settings(settings, fake)
        settings.DAILY_DOMAIN = fake.room_origin = fake.url
        settings.SITE_URL = live_server.url
        group = GroupFactory(therapist=licensed_therapist("NY"), price=Decimal("0"))
        r = seated(group, at=None, first_name="Ana", last_name="Lopez")
        session = group.sessions.order_by("starts_at").first()
        from groups.models import GroupSession

        now = timezone.now()
        GroupSession.objects.filter(pk=session.pk).update(
            starts_at=now + dt.timedelta(minutes=5), ends_at=now + dt.timedelta(minutes=95)
        )
        page = page_factory()
        violations: list[str] = []
        page.on(
            "console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None
        )
        page.goto(live_server.url + join_path(reservation_id=r.pk, session_id=session.pk))
        page.locator("input[name=login]").fill(r.member.email)
        page.locator("input[name=password]").fill("correct horse battery")
        page.locator("main form button[type=submit]").click()
        page.get_by_label("Where are you right now?").select_option("NY")
        page.get_by_role("group", name=re.compile(r"^Are you at")).get_by_label("Yes").check()
        page.get_by_role("button", name="I'm here: check in and join").click()
        expect(page).to_have_url(re.compile(r"/room/$"))
        frame = page.frame_locator("iframe.room")
        expect(frame.get_by_role("heading", name=re.compile("^Room grouport-"))).to_be_visible()
        expect(page.get_by_role("link", name="Leave")).to_be_visible()
        expect(page.get_by_text("988").first).to_be_visible()
        assert violations == []
        assert fake.tokens[0]["user_name"] == "Ana L." and fake.tokens[0]["is_owner"] is False
        screenshot(page, "room")
    finally:
        server.shutdown()
        server.server_close()
