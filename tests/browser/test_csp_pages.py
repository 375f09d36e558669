"""Every page a member (and staff) can open runs under the strict Content-Security-Policy
with no violation: no inline script or style, nothing from another origin.

Violations are collected in the page itself (``securitypolicyviolation`` events, recorded by
a script the browser injects, which the CSP does not govern) and from the console.
"""

import re
from decimal import Decimal

from playwright.sync_api import Page, expect

from grouport.roles import STAFF, role_grant
from tests.factories import GroupFactory, UserFactory, licensed_therapist, member, second_factor, totp_code

RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"} on ${location.pathname}`);
});
"""


def visit(page: Page, url: str, violations: list[str]) -> None:
    response = page.goto(url)
    assert response is not None and response.status < 500, url
    page.wait_for_load_state("networkidle")
    violations.extend(page.evaluate("window.__csp || []"))
    header = response.headers.get("content-security-policy", "")
    if "/static/" not in url:
        assert "default-src 'self'" in header and "unsafe-inline" not in header, url


PASSWORD = "correct horse battery"


def sign_in(page: Page, base: str, email: str, next_url: str = "/my/"):
    page.goto(f"{base}/accounts/login/?next={next_url}")
    page.get_by_label(re.compile("^Email")).fill(email)
    page.get_by_label(re.compile("^Password")).fill(PASSWORD)
    page.get_by_role("button", name=re.compile("sign in", re.I)).click()


def test_every_member_page_runs_under_the_csp_without_a_violation(
    page: Page, live_server, page_log, screenshot
):
    page.add_init_script(RECORD_VIOLATIONS)
    base = live_server.url
    group = GroupFactory(title="Evening Group", price=Decimal("320.00"), therapist=licensed_therapist("NY"))
    alex = member(state="NY")
    violations: list[str] = []

    public = ("/", f"/groups/{group.slug}/", "/accounts/login/", "/accounts/signup/",
              "/accounts/password/reset/", "/no-such-page/")  # fmt: skip
    for path in public:
        visit(page, base + path, violations)

    sign_in(page, base, alex.email)
    expect(page).to_have_url(re.compile(r"/my/$"))
    visit(page, f"{base}/groups/{group.slug}/reserve/", violations)
    page.get_by_label(re.compile("the state on my profile")).check()
    page.get_by_label(re.compile("I will attend every session")).check()
    page.get_by_label(re.compile("accept the group agreement")).check()
    page.get_by_role("button", name="Hold my seat and pay").click()
    expect(page.get_by_role("heading", name="Pay for your seat")).to_be_visible()
    violations.extend(page.evaluate("window.__csp || []"))
    reservation_id = re.search(r"/reservations/(\d+)/pay/", page.url).group(1)
    reservation = f"/reservations/{reservation_id}/"
    private = (reservation, f"{reservation}cancel/", "/my/", "/account/profile/", "/accounts/email/",
               "/accounts/password/change/", "/accounts/2fa/")  # fmt: skip
    for path in private:
        visit(page, base + path, violations)
    screenshot(page, "two-factor")

    assert violations == [], violations
    csp_console = [m for m in page_log.console_errors if "Content Security Policy" in m]
    assert csp_console == [], csp_console
    assert not page_log.page_errors, page_log.summary()


def test_staff_sign_in_with_a_code_and_the_admin_runs_under_the_csp(page: Page, live_server, page_log):
    page.add_init_script(RECORD_VIOLATIONS)
    page.set_viewport_size({"width": 1280, "height": 900})
    base = live_server.url
    staff = UserFactory(email="ops@example.test")
    role_grant(staff, STAFF)
    from allauth.account.models import EmailAddress

    EmailAddress.objects.create(user=staff, email=staff.email, verified=True, primary=True)
    secret = second_factor(staff)
    group = GroupFactory(title="Staffed Group", therapist=licensed_therapist("NY"))
    violations: list[str] = []

    page.goto(f"{base}/admin/")  # the admin's login hands over to the one sign-in
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=%2Fadmin%2F"))
    page.get_by_label(re.compile("^Email")).fill(staff.email)
    page.get_by_label(re.compile("^Password")).fill(PASSWORD)
    page.get_by_role("button", name=re.compile("sign in", re.I)).click()
    expect(page).to_have_url(re.compile(r"/accounts/2fa/authenticate/"))
    page.locator("input[name=code]").fill(totp_code(secret))
    page.get_by_role("button", name=re.compile("sign in", re.I)).click()
    expect(page).to_have_url(re.compile(r"/admin/$"))
    staff_pages = ("/admin/", f"/admin/groups/group/{group.pk}/roster/", "/admin/enrollment/reservation/",
                   "/admin/grouport/user/", "/reports/")  # fmt: skip
    for path in staff_pages:
        visit(page, base + path, violations)
    assert violations == [], violations
    assert not [m for m in page_log.console_errors if "Content Security Policy" in m]
