"""Sign-up with email as the login, mandatory verification, no account enumeration, and password
reset links built from SITE_URL, never from the Host a request claimed."""

import re

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth.hashers import MD5PasswordHasher
from django.core import mail

from grouport.models import User
from tests.factories import member

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]

SIGNUP = {
    "email": "Ana.Reyes@Example.test",
    "password1": "a long sturdy passphrase",
    "password2": "a long sturdy passphrase",
    "first_name": "Ana",
    "last_name": "Reyes",
    "state": "FL",
    "time_zone": "America/Chicago",
}


def confirmation_link(message) -> str:
    return re.search(r"https?://[^/\s]+(/accounts/confirm-email/[^\s]+/)", message.body).group(1)


def test_signup_stores_the_profile_and_sends_a_verification_email_with_crisis_resources(client):
    response = client.post("/accounts/signup/", SIGNUP)
    assert response.status_code == 302
    user = User.objects.get()
    assert user.email == "ana.reyes@example.test"
    assert (user.first_name, user.state, user.time_zone) == ("Ana", "FL", "America/Chicago")
    assert not EmailAddress.objects.get(user=user).verified
    [message] = mail.outbox
    assert message.to == ["ana.reyes@example.test"]
    assert "988" in message.body and "911" in message.body


def test_florida_must_choose_its_time_zone_at_signup(client):
    response = client.post("/accounts/signup/", {**SIGNUP, "time_zone": ""})
    assert response.status_code == 200
    page = response.content.decode()
    assert "choose Eastern or Central" in page
    assert not User.objects.exists()
    # On a phone the one error is far below: a summary comes first (site.js focuses it), with
    # a link to the field, and the passwords typed are kept rather than wiped.
    summary = page.index('role="alert" tabindex="-1"')
    assert summary < page.index('name="email"')
    assert '<a href="#id_time_zone">' in page[summary : page.index('name="email"')]
    assert page.count('value="a long sturdy passphrase"') == 2


def test_a_password_with_its_own_problem_is_not_shown_again(client):
    page = client.post(
        "/accounts/signup/", {**SIGNUP, "password1": "short", "password2": "short"}
    ).content.decode()
    assert 'value="short"' not in page and "too short" in page


def test_state_outside_florida_gets_its_usual_zone(client):
    client.post("/accounts/signup/", {**SIGNUP, "state": "CA", "time_zone": ""})
    assert User.objects.get().time_zone == "America/Los_Angeles"


def test_unverified_member_cannot_log_in_until_they_follow_the_link(client):
    client.post("/accounts/signup/", SIGNUP)
    client.logout()
    login = client.post("/accounts/login/", {"login": SIGNUP["email"], "password": SIGNUP["password1"]})
    assert login.status_code == 302 and "confirm-email" in login.url
    not_signed_in = client.get("/api/me/")
    assert not_signed_in.status_code == 401 and not_signed_in["WWW-Authenticate"] == "Token"
    link = confirmation_link(mail.outbox[0])
    assert client.post(link).status_code == 302
    assert EmailAddress.objects.get().verified
    assert client.get("/api/me/").json()["email"] == "ana.reyes@example.test"


def test_password_reset_does_not_reveal_whether_an_account_exists(client):
    User.objects.create_user("known@example.test", "pw-123456789")
    known = client.post("/accounts/password/reset/", {"email": "known@example.test"})
    unknown = client.post("/accounts/password/reset/", {"email": "unknown@example.test"})
    assert known.status_code == unknown.status_code == 302
    assert known.url == unknown.url
    assert all("988" in m.body for m in mail.outbox)


def test_signing_up_twice_with_one_email_does_not_say_the_account_exists(client):
    client.post("/accounts/signup/", SIGNUP)
    client.logout()
    again = client.post("/accounts/signup/", {**SIGNUP, "email": "ana.reyes@example.test"})
    assert again.status_code == 302  # same outcome as a new address: a message goes to the inbox
    assert User.objects.count() == 1


class CountingHasher(MD5PasswordHasher):
    """The suite's fast hasher, counting how often a password is hashed."""

    calls = 0

    def encode(self, password, salt):
        type(self).calls += 1
        return super().encode(password, salt)


def test_sign_up_does_the_same_work_whether_or_not_the_address_has_an_account(client, settings):
    """The password's hash is most of a sign-up's time (about 0.7 s with Django's own hasher):
    an address with an account answered in 45 ms, so the timing told who has one."""
    settings.PASSWORD_HASHERS = ["tests.test_accounts.CountingHasher"]
    CountingHasher.calls = 0
    client.post("/accounts/signup/", SIGNUP)
    new = CountingHasher.calls
    client.logout()
    CountingHasher.calls = 0
    client.post("/accounts/signup/", {**SIGNUP, "email": "ana.reyes@example.test"})
    assert new >= 1 and CountingHasher.calls == new


def test_create_user_takes_an_email_and_password():
    user = User.objects.create_user("Mixed@Example.TEST", "pw-123456789")
    assert user.email == "mixed@example.test" and user.check_password("pw-123456789")
    assert str(user) == f"User #{user.pk}"
    with pytest.raises(ValueError, match="email"):
        User.objects.create_user("", "pw")


def test_login_api_is_rate_limited(client):
    for _ in range(10):
        client.post("/api/auth/token/", {"email": "x@example.test", "password": "no"})
    assert client.post("/api/auth/token/", {"email": "x@example.test", "password": "no"}).status_code == 429


def test_a_reset_link_is_built_from_site_url_not_the_host_header(client, settings):
    settings.SITE_URL = "https://groups.example.org"
    settings.ALLOWED_HOSTS = ["127.0.0.1", "testserver"]
    alex = member()
    client.post("/accounts/password/reset/", {"email": alex.email}, HTTP_HOST="127.0.0.1:6666")
    body = mail.outbox[-1].body
    assert "https://groups.example.org/accounts/password/reset/key/" in body
    assert "6666" not in body


@pytest.mark.django_db
@pytest.mark.sqlite
def test_the_sign_in_page_offers_the_password_reset_once(client):
    """Found in a fresh-clone trial: allauth's field help and our page both linked it."""
    page = client.get("/accounts/login/").content.decode()
    assert page.count('href="/accounts/password/reset/"') == 1
