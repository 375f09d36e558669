"""Sign-up with email as the login, mandatory verification, and no account enumeration."""

import re

import pytest
from allauth.account.models import EmailAddress
from django.core import mail

from grouport.models import User

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
    assert "choose Eastern or Central" in response.content.decode()
    assert not User.objects.exists()


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
