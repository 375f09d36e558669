"""A member joins a session from their reminder: the join link, the check-in from where they
are, on to the video; their therapist's live sheet shows them present."""

import datetime as dt
import re
from decimal import Decimal

from django.core import mail
from django.utils import timezone
from playwright.sync_api import Page, expect

from attendance.services.reminders import reminder_deliver, reminders_claim_due
from enrollment.services.reservations import reservation_confirm, reservation_hold
from grouport.models import User
from grouport.roles import THERAPIST, role_grant
from groups.models import GroupSession
from tests.browser.test_admin_journeys import admin_login
from tests.factories import ALL_TRUE, GroupFactory, licensed_therapist, member


def test_reminder_join_link_check_in_video_and_the_therapists_live_sheet(
    page: Page, page_factory, live_server, settings, screenshot
):
    settings.SITE_URL = live_server.url
    therapist = licensed_therapist("NY")
    therapist_user = User.objects.create_user("therapist@example.test", "correct horse battery")
    therapist.user = therapist_user
    therapist.save()
    role_grant(therapist_user, THERAPIST)
    # The "video service" is a page of this server, so the browser may go there.
    video = f"{live_server.url}/healthz?room=group-7"
    group = GroupFactory(title="Tuesday Group", therapist=therapist, price=Decimal("0"), video_url=video)
    alex = member(state="NY", first_name="Alex", last_name="Rivera")
    reservation_confirm(
        reservation=reservation_hold(member=alex, group=group, attestations=ALL_TRUE), actor=alex
    )
    # The first session starts in ten minutes: its reminder is due, its link is open.
    now = timezone.now()
    first = group.sessions.get(number=1)
    GroupSession.objects.filter(pk=first.pk).update(
        starts_at=now + dt.timedelta(minutes=10), ends_at=now + dt.timedelta(minutes=100)
    )
    for reminder_id in reminders_claim_due():
        reminder_deliver(reminder_id=reminder_id)
    [reminder] = [m for m in mail.outbox if m.to == [alex.email] and m.subject.startswith("Reminder")]
    join_link = re.search(r"(http://\S+/join/\S+/)", reminder.body).group(1)
    assert video not in reminder.body

    # On the phone: the link asks them to sign in, then where they are right now.
    page.goto(join_link)
    page.locator("input[name=login]").fill(alex.email)
    page.locator("input[name=password]").fill("correct horse battery")
    page.locator("main form button[type=submit]").click()
    expect(page.get_by_role("heading", name="Join your session")).to_be_visible()
    # Not filled in from their home state: they say where they are today.
    expect(page.get_by_label("Where are you right now?")).to_have_value("")
    assert video not in page.content()
    page.get_by_label("Where are you right now?").select_option("NY")
    # The session's emergency plan: at the usual address on their intake.
    page.get_by_role("group", name=re.compile(r"^Are you at 1 Main St")).get_by_label("Yes").check()
    screenshot(page, "check-in")
    page.get_by_role("button", name="I'm here: check in and join").click()
    expect(page.get_by_text("You're checked in")).to_be_visible()
    page.wait_for_url(re.compile(r"/healthz\?room=group-7$"), timeout=10_000)  # on to the video

    # The therapist's live sheet, at the desk.
    desk = page_factory()
    admin_login(desk, live_server, therapist_user.email)
    desk.goto(f"{live_server.url}/admin/groups/groupsession/{first.pk}/live/")
    row = desk.get_by_role("row", name=re.compile("Alex Rivera"))
    expect(row).to_contain_text("Checked in")
    expect(row).to_contain_text("New York")
    screenshot(desk, "live")
