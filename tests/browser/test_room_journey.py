"""On a phone, from the reminder: a member follows the join link, checks in, and waits in our
lobby; the therapist's live view shows her waiting (and from where); the therapist lets her
in, and the room opens on our page, the provider's (a fake Daily served locally) frame under
our header with "Leave" and the crisis line, with no Content-Security-Policy violation; the
live view then shows her in the room (Daily's presence)."""

import datetime as dt
import re

from django.core import mail
from django.core.cache import cache
from django.utils import timezone
from playwright.sync_api import expect

from attendance.services.reminders import reminder_deliver, reminders_claim_due
from grouport.models import User
from grouport.roles import THERAPIST, role_grant
from tests.browser.test_admin_journeys import admin_login
from tests.factories import GroupFactory, licensed_therapist, seated


def test_reminder_check_in_lobby_let_in_and_the_room_on_our_page(
    page_factory, live_server, settings, screenshot
):
    from decimal import Decimal

    from tests import fake_daily

    fake, server = fake_daily.start()
    try:
        fake_daily.use_in_settings(settings, fake)
        settings.DAILY_DOMAIN = fake.room_origin = fake.url
        settings.SITE_URL = live_server.url
        therapist = licensed_therapist("NY")
        therapist.user = User.objects.create_user("therapist@example.test", "correct horse battery")
        therapist.save()
        role_grant(therapist.user, THERAPIST)
        group = GroupFactory(therapist=therapist, price=Decimal("0"))
        r = seated(group, at=None, first_name="Ana", last_name="Lopez")
        session = group.sessions.order_by("starts_at").first()
        from groups.models import GroupSession

        now = timezone.now()
        GroupSession.objects.filter(pk=session.pk).update(
            starts_at=now + dt.timedelta(minutes=5), ends_at=now + dt.timedelta(minutes=95)
        )
        for reminder_id in reminders_claim_due():
            reminder_deliver(reminder_id=reminder_id)
        [reminder] = [m for m in mail.outbox if m.to == [r.member.email] and m.subject.startswith("Reminder")]
        join_link = re.search(r"(http://\S+/join/\S+/)", reminder.body).group(1)
        assert fake.url not in reminder.body and "grouport-" not in reminder.body  # no room, no token

        page = page_factory()
        violations: list[str] = []
        page.on(
            "console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None
        )
        page.goto(join_link)
        page.locator("input[name=login]").fill(r.member.email)
        page.locator("input[name=password]").fill("correct horse battery")
        page.locator("main form button[type=submit]").click()
        page.get_by_label("Where are you right now?").select_option("NY")
        page.get_by_role("group", name=re.compile(r"^Are you at")).get_by_label("Yes").check()
        page.get_by_role("button", name="I'm here: check in and join").click()
        expect(page).to_have_url(re.compile(r"/room/$"))
        expect(page.get_by_role("heading", name="Waiting for your therapist to let you in")).to_be_visible()
        expect(page.get_by_text("988").first).to_be_visible()
        assert page.locator("iframe").count() == 0 and fake.tokens == []  # no way in while she waits
        screenshot(page, "lobby")

        # The therapist, at the desk: she waits, checked in from New York.
        desk = page_factory()
        admin_login(desk, live_server, therapist.user.email)
        desk.goto(f"{live_server.url}/admin/groups/groupsession/{session.pk}/live/")
        row = desk.get_by_role("row", name=re.compile("Ana Lopez"))
        expect(row).to_contain_text("Waiting to be let in")
        expect(row).to_contain_text("New York")
        screenshot(desk, "live-waiting")
        row.get_by_role("button", name="Let Ana Lopez in").click()
        expect(desk.get_by_text("Let in: 1.")).to_be_visible()

        # Her page asks again by itself, and the room opens on it.
        frame = page.frame_locator("iframe.room")
        expect(frame.get_by_role("heading", name=re.compile("^Room grouport-"))).to_be_visible(timeout=15_000)
        expect(page.get_by_role("link", name="Leave")).to_be_visible()
        expect(page.get_by_text("988").first).to_be_visible()
        assert violations == []
        assert fake.tokens[0]["user_name"] == "Ana L." and fake.tokens[0]["is_owner"] is False
        screenshot(page, "room")

        cache.clear()  # Daily's presence is asked at most every 10 seconds
        desk.reload()
        expect(desk.get_by_role("row", name=re.compile("Ana Lopez"))).to_contain_text("In the room")
        screenshot(desk, "live-in-the-room")
    finally:
        server.shutdown()
        server.server_close()
