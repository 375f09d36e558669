"""Help first, for a person in distress: the 988 link opens every page (before the header,
the menu, anything), the help page reaches people who text, speak Spanish or are outside the
US, and the error pages are the site's own, with the crisis line."""

import re

import pytest
from django.template import Context, Template
from django.template.loader import get_template
from django.test import Client

from enrollment.services.reservations import reservation_hold
from tests.factories import ALL_TRUE, member

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]
# The skip link, then the help link: before the header, the menu, anything.
HELP_FIRST = re.compile(
    r'<body>\s*<a class="skip"[^>]*>[^<]*</a>\s*'
    r'<aside class="help-now" aria-label="[^"]+"><a href="/help/">'
)


def test_every_member_page_opens_with_the_help_link(client, therapy, skills):
    alex = member()
    held = reservation_hold(member=alex, group=therapy, attestations=ALL_TRUE)
    public = [
        "/",
        f"/groups/{therapy.slug}/",
        "/help/",
        "/about/",
        "/privacy/",
        "/terms/",
        "/contact/",
        "/agreement/",
        "/accounts/login/",
        "/accounts/signup/",
        "/accounts/password/reset/",
        "/nope/",
    ]
    member_pages = [
        f"/groups/{skills.slug}/reserve/",
        "/my/",
        "/account/profile/",
        f"/reservations/{held.pk}/",
        f"/reservations/{held.pk}/pay/",
        f"/reservations/{held.pk}/cancel/",
        "/accounts/password/change/",
    ]
    for path in public:
        assert HELP_FIRST.search(client.get(path).content.decode()), path
    client.force_login(alex)
    for path in member_pages:
        response = client.get(path)
        assert response.status_code == 200, path
        assert HELP_FIRST.search(response.content.decode()), path


def test_the_help_page_calls_texts_in_spanish_and_outside_the_us(client):
    page = client.get("/help/").content.decode()
    assert 'href="tel:988"' in page and 'href="sms:988"' in page
    assert 'href="sms:988?&amp;body=AYUDA"' in page  # Spanish by text
    assert 'href="tel:911"' in page and 'id="outside-us"' in page


def test_a_failed_form_check_is_the_sites_own_page_with_988():
    csrf_client = Client(enforce_csrf_checks=True)
    response = csrf_client.post("/language/", {"language": "es"})
    page = response.content.decode()
    assert response.status_code == 403
    assert "CSRF verification failed" not in page
    assert HELP_FIRST.search(page) and 'href="tel:988"' in page


@pytest.mark.parametrize("code, path", [(404, "/no-such-page/"), (403, "/reports/")])
def test_error_pages_are_the_sites_own_with_help(client, code, path):
    if code == 403:
        client.force_login(member())
    response = client.get(path)
    assert response.status_code == code
    assert HELP_FIRST.search(response.content.decode())


def test_templates_render_the_crisis_line_on_error_pages():
    for template in ("400.html", "403.html", "404.html", "500.html"):
        assert "988" in get_template(template).render({}), template
    assert "988" in Template("{% include 'includes/crisis.html' %}").render(Context({}))


# Inside the admin's container, before its header (only the admin's own comments between).
ADMIN_HELP_FIRST = re.compile(
    r'<div id="container">\s*(?:<!--[^>]*-->\s*)*<aside class="help-now" aria-label="[^"]+"><a href="/help/">'
)


def test_every_admin_page_opens_with_the_help_link_too(client, therapy):
    """Clinicians and staff read members' answers in the admin; the line is there for them too,
    before the header, as on every page of the site (found in a fresh-clone trial: the admin
    had it only in a footer)."""
    from tests.factories import sign_in, staff

    sign_in(client, staff())
    for path in (
        "/admin/",
        "/admin/groups/group/",
        f"/admin/groups/group/{therapy.pk}/roster/",
        f"/admin/groups/groupsession/{therapy.sessions.first().pk}/live/",
        "/admin/attendance/reminder/",
        "/admin/grouport/outboxmessage/",
        "/admin/care/safetyalert/",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        assert ADMIN_HELP_FIRST.search(response.content.decode()), path
