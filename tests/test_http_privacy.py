"""What the browser is told to keep and allow: private pages and API answers never stored,
public ones cacheable; a strict Content-Security-Policy and Permissions-Policy on every page;
and no template that needs inline script or style to work under them."""

from pathlib import Path

import pytest
from rest_framework.test import APIClient

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]

ROOT = Path(__file__).resolve().parent.parent


def test_private_pages_and_api_answers_are_never_stored(client, seat):
    group, alex, reservation = seat
    client.force_login(alex)
    pages = ("/my/", f"/reservations/{reservation.pk}/", f"/reservations/{reservation.pk}/calendar.ics",
             "/account/profile/", "/", f"/groups/{group.slug}/")  # fmt: skip
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        assert "no-store" in response["Cache-Control"], path
    api = APIClient()
    api.force_authenticate(alex)
    assert "no-store" in api.get("/api/me/")["Cache-Control"]


def test_public_pages_stay_cacheable_for_visitors(client, seat):
    assert "no-store" not in client.get("/").get("Cache-Control", "")
    assert "no-store" not in client.get("/api/groups/").get("Cache-Control", "")


def test_every_page_carries_a_strict_csp_and_a_permissions_policy(client):
    response = client.get("/")
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    policy = response["Permissions-Policy"]
    assert "camera=()" in policy and "microphone=()" in policy and "geolocation=()" in policy


def test_no_template_needs_inline_script_or_style():
    offences = []
    for path in (ROOT / "templates").rglob("*.html"):
        if "emails" in path.parts:
            continue  # email clients, not browsers under our CSP
        text = path.read_text()
        if (
            "style=" in text
            or "<style" in text
            or "<script>" in text
            or (" on" in text and "onclick=" in text)
        ):
            offences.append(str(path.relative_to(ROOT)))
    assert offences == []
