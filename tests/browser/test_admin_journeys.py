"""A therapist marks attendance and exports the roster; staff read the reports with charts."""

import re

from playwright.sync_api import Page, expect

from attendance.models import Attendance
from grouport.roles import STAFF, THERAPIST, role_grant
from tests.factories import GroupFactory, UserFactory, licensed_therapist, seated, second_factor, totp_code


def admin_login(page: Page, live_server, email: str) -> None:
    """Sign in as staff do: the admin hands over to the one sign-in, then the code from the
    authenticator app (computed here from its secret, as the app would)."""
    from allauth.account.models import EmailAddress

    from grouport.models import User

    user = User.objects.get(email=email)
    EmailAddress.objects.get_or_create(user=user, email=email, defaults={"verified": True, "primary": True})
    secret = second_factor(user)
    page.set_viewport_size({"width": 1280, "height": 900})  # the admin is a desk tool
    page.goto(f"{live_server.url}/admin/login/")
    page.get_by_label(re.compile("^Email")).fill(email)
    page.get_by_label(re.compile("^Password")).fill("correct horse battery")
    page.get_by_role("button", name=re.compile("sign in", re.I)).click()
    page.locator("input[name=code]").fill(totp_code(secret))
    page.get_by_role("button", name=re.compile("sign in", re.I)).click()
    expect(page).to_have_url(re.compile(r"/admin/$"))


def test_therapist_marks_attendance_and_exports_the_roster(page: Page, live_server, screenshot):
    therapist = licensed_therapist("NY")
    role_grant(therapist.user, THERAPIST)
    group = GroupFactory(title="Thursday Group", therapist=therapist)
    ana = seated(group, at=None, first_name="Ana", last_name="Lopez")
    ben = seated(group, at=None, first_name="Ben", last_name="Okafor")
    GroupFactory(title="Someone else's group", therapist=licensed_therapist("NY"))

    admin_login(page, live_server, therapist.user.email)
    expect(page.get_by_role("link", name="Reports")).to_have_count(0)  # staff only
    page.goto(f"{live_server.url}/admin/groups/group/")
    expect(page.get_by_role("link", name="Thursday Group")).to_be_visible()
    expect(page.get_by_text("Someone else's group")).to_have_count(0)
    page.get_by_role("link", name="Roster").first.click()
    expect(page.get_by_role("heading", name=re.compile("Confirmed members"))).to_be_visible()
    expect(page.get_by_role("cell", name="Ana Lopez").first).to_be_visible()

    page.get_by_role("link", name="Mark attendance").first.click()
    page.get_by_label("Ana Lopez: Present").check()
    page.get_by_label("Ben Okafor: Absent").check()
    screenshot(page, "attendance")
    page.get_by_role("button", name="Save attendance").click()
    expect(page.get_by_text("Attendance saved (2 change(s)).")).to_be_visible()
    assert dict(Attendance.objects.values_list("reservation_id", "status")) == {
        ana.pk: "present",
        ben.pk: "absent",
    }

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export roster (CSV)").click()
    download = download_info.value
    assert download.suggested_filename == f"roster-{group.pk}.csv"
    text = download.path().read_text(encoding="utf-8")
    assert "Ana Lopez" in text and "Ben Okafor" in text and ",present" in text

    # On a phone the roster's weeks scroll inside their table; the page itself does not.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/admin/groups/group/{group.pk}/roster/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_staff_open_the_reports_and_see_the_charts(page: Page, live_server, screenshot):
    staff = UserFactory(email="ops@example.test")
    role_grant(staff, STAFF)
    group = GroupFactory(title="Monday Group", therapist=licensed_therapist("NY"), capacity=4)
    for _ in range(3):
        seated(group, at=None)
    admin_login(page, live_server, staff.email)
    page.goto(f"{live_server.url}/reports/")
    expect(page.get_by_role("heading", name="Enrollment reports")).to_be_visible()
    charts = page.locator("svg.chart")
    expect(charts).to_have_count(3)
    expect(page.get_by_role("img", name=re.compile("Fill rate by group"))).to_be_visible()
    expect(page.locator("svg.chart rect").first).to_be_visible()
    row = page.get_by_role("row").filter(has_text="Monday Group").first
    expect(row).to_contain_text("75.0")
    screenshot(page, "reports")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download CSV").first.click()
    assert "Monday Group" in download_info.value.path().read_text(encoding="utf-8")
