"""The pages that say who we are: privacy, contact, about and terms answer what a member
would ask; and the icon browsers look for at /favicon.ico."""

import pytest

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]


def test_trust_pages_answer_what_a_member_would_ask(client):
    privacy = client.get("/privacy/").content.decode()
    for words in ("what we keep", "who sees it", "how long", "a copy"):
        assert words in privacy.lower(), words
    assert "@" in client.get("/contact/").content.decode()  # an address to write to
    assert client.get("/about/").status_code == client.get("/terms/").status_code == 200


def test_browsers_asking_for_favicon_ico_get_the_icon(client):
    answer = client.get("/favicon.ico")
    assert answer.status_code == 302 and answer.url.endswith("favicon.ico")
    from django.contrib.staticfiles import finders

    assert finders.find("favicon.ico")
