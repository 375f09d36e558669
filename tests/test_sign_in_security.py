"""Signing in, on the site and through the API: one count of wrong passwords per account
(whatever the Host header, the door or the address), staff and therapist accounts guarded like a
clinic's records with a second factor before any member data, and API tokens that are a sign-in
like any other (a confirmed email, the second factor) and behave like sessions."""

import datetime as dt
import re

import pytest
import time_machine
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.core import mail
from django.utils import timezone
from rest_framework.test import APIClient

from grouport.models import User
from grouport.roles import ENROLLED_SESSION_KEY, STAFF, THERAPIST, role_grant
from tests.factories import (
    GroupFactory,
    UserFactory,
    licensed_therapist,
    member,
    second_factor,
    sign_in,
    totp_code,
)

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]

PASSWORD = "correct horse battery"
LOCKED = "Too many failed sign-in attempts"


def verified(user: User) -> User:
    EmailAddress.objects.get_or_create(
        user=user, email=user.email, defaults={"verified": True, "primary": True}
    )
    return user


def staff_account() -> User:
    user = verified(UserFactory())
    role_grant(user, STAFF)
    return user


def sign_in_with_password(client, user: User):
    return client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})


# --- One sign-in for everyone


def test_the_admin_login_hands_over_to_the_sites_sign_in(client):
    staff = staff_account()
    page = client.get("/admin/login/?next=/admin/grouport/user/")
    assert page.status_code == 302
    assert page["Location"] == "/accounts/login/?next=%2Fadmin%2Fgrouport%2Fuser%2F"
    # Posting a password to the admin's own form signs nobody in.
    posted = client.post("/admin/login/", {"username": staff.email, "password": PASSWORD})
    assert posted.status_code == 302 and posted["Location"].startswith("/accounts/login/")
    assert "_auth_user_id" not in client.session
    # An unauthenticated visit to any admin page ends at the same sign-in.
    assert client.get("/admin/").url.startswith("/admin/login/")


def test_an_offsite_next_is_not_followed(client):
    page = client.get("/admin/login/?next=https://evil.example/")
    assert page["Location"] == "/accounts/login/?next=%2Fadmin%2F"


def test_a_member_who_opens_the_admin_is_told_no_without_a_sign_in_loop(client):
    client.force_login(member())
    assert client.get("/admin/login/?next=/admin/").status_code == 403


def test_wrong_passwords_lock_the_account_even_against_the_right_one(client):
    staff = staff_account()
    answers = [client.post("/accounts/login/", {"login": staff.email, "password": "guess"}) for _ in range(6)]
    assert [a.status_code for a in answers] == [200] * 6
    assert "Too many failed sign-in attempts" in answers[-1].content.decode()
    right = client.post("/accounts/login/", {"login": staff.email, "password": PASSWORD})
    assert right.status_code == 200 and "Too many failed sign-in attempts" in right.content.decode()
    assert "_auth_user_id" not in client.session


# --- Second factor


@pytest.mark.parametrize("path", ["/admin/", "/reports/", "roster.csv"])
def test_staff_without_a_second_factor_are_sent_to_enrol_one(client, path):
    staff = staff_account()
    group = GroupFactory(therapist=licensed_therapist("NY"))
    if path == "roster.csv":
        path = f"/admin/groups/group/{group.pk}/roster.csv"
    assert sign_in_with_password(client, staff).status_code == 302
    answer = client.get(path)
    assert answer.status_code == 302
    assert answer["Location"].startswith("/accounts/2fa/totp/activate/")


def enrol_totp(client, user: User) -> str:
    """Walk through allauth's enrolment as a person would; return the authenticator's secret."""
    to_activate = client.get("/accounts/2fa/totp/activate/")
    if to_activate.status_code == 302:  # allauth asks for the password again first
        assert "/accounts/reauthenticate/" in to_activate["Location"]
        client.post(to_activate["Location"], {"password": PASSWORD})
    page = client.get("/accounts/2fa/totp/activate/").content.decode()
    secret = re.search(r"\b([A-Z2-7]{32})\b", page).group(1)  # the key shown for manual entry
    activated = client.post("/accounts/2fa/totp/activate/", {"code": totp_code(secret)})
    assert activated.status_code == 302, activated.content.decode()[:3000]
    assert Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
    return secret


# allauth announces a new authenticator after its commit, inside the request: real commits.
@pytest.mark.django_db(transaction=True)
def test_with_a_real_totp_code_staff_get_in_and_a_recovery_code_works_once(client):
    staff = staff_account()
    sign_in_with_password(client, staff)
    secret = enrol_totp(client, staff)
    assert client.get("/admin/").status_code == 200  # enrolling used the factor
    assert client.get("/reports/").status_code == 200

    # Next time: password, then the code (a wrong code is refused).
    client.logout()
    assert sign_in_with_password(client, staff)["Location"].startswith("/accounts/2fa/authenticate/")
    wrong = client.post("/accounts/2fa/authenticate/", {"code": "000000"})
    assert wrong.status_code == 200 and "_auth_user_id" not in client.session
    right = client.post("/accounts/2fa/authenticate/", {"code": totp_code(secret)})
    assert right.status_code == 302 and client.get("/admin/").status_code == 200

    # A recovery code stands in for a lost phone, once.
    codes = (
        Authenticator.objects.get(user=staff, type=Authenticator.Type.RECOVERY_CODES)
        .wrap()
        .get_unused_codes()
    )
    for attempt in ("first", "again"):
        client.logout()
        sign_in_with_password(client, staff)
        used = client.post("/accounts/2fa/authenticate/", {"code": codes[0]})
        if attempt == "first":
            assert used.status_code == 302 and client.get("/admin/").status_code == 200
        else:
            assert used.status_code == 200 and "_auth_user_id" not in client.session


def test_a_therapist_with_a_factor_but_a_password_only_session_is_asked_for_a_code(client):
    therapist = licensed_therapist("NY").user
    verified(therapist)
    role_grant(therapist, THERAPIST)
    from tests.factories import second_factor

    secret = second_factor(therapist)
    client.force_login(therapist)  # a session that never saw the factor
    asked = client.get("/admin/")
    assert asked["Location"].startswith("/accounts/2fa/reauthenticate/")
    client.post("/accounts/2fa/reauthenticate/", {"code": totp_code(secret)})
    assert client.get("/admin/").status_code == 200


def test_members_need_no_second_factor_but_may_turn_it_on(client):
    alex = member()
    client.force_login(alex)
    assert client.get("/my/").status_code == 200
    assert client.get("/accounts/2fa/").status_code == 200
    assert "Two-factor" in client.get("/account/profile/").content.decode()


# --- API tokens


def api_token(email: str, password: str = PASSWORD, **extra) -> tuple[int, dict]:
    """Ask the API for a token: ``HTTP_*`` keywords are request headers, any other (``code``)
    goes in the body."""
    headers = {k: v for k, v in extra.items() if k.startswith("HTTP_")}
    body = {k: v for k, v in extra.items() if not k.startswith("HTTP_")}
    answer = APIClient().post(
        "/api/auth/token/", {"email": email, "password": password, **body}, format="json", **headers
    )
    return answer.status_code, answer.json()


def test_a_token_expires_and_an_invalid_one_answers_401_with_www_authenticate(settings):
    alex = member()
    status, body = api_token(alex.email)
    assert status == 200 and body["expiry"]
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {body['token']}")
    assert api.get("/api/me/").status_code == 200
    with time_machine.travel(timezone.now() + dt.timedelta(hours=settings.API_TOKEN_TTL_HOURS, minutes=1)):
        expired = api.get("/api/me/")
    assert expired.status_code == 401 and expired["WWW-Authenticate"] == "Token"
    api.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    forged = api.get("/api/me/")
    assert forged.status_code == 401 and forged.json()["code"] == "authentication_failed"


def test_tokens_are_stored_hashed_listed_and_revoked_by_their_owner():
    from knox.models import AuthToken

    alex = member()
    _, first = api_token(alex.email)
    _, second = api_token(alex.email)
    assert not AuthToken.objects.filter(digest__in=[first["token"], second["token"]]).exists()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {first['token']}")
    listed = api.get("/api/auth/tokens/").json()
    assert len(listed) == 2 and [t["current"] for t in listed].count(True) == 1
    other = next(t["id"] for t in listed if not t["current"])
    assert api.delete(f"/api/auth/tokens/{other}/").status_code == 204
    assert api.delete(f"/api/auth/tokens/{other}/").status_code == 404
    assert api.post("/api/auth/logout/").status_code == 204
    assert api.get("/api/me/").status_code == 401


def test_a_password_reset_signs_every_token_out(client):
    alex = member()
    _, body = api_token(alex.email)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {body['token']}")
    assert api.get("/api/me/").status_code == 200

    client.post("/accounts/password/reset/", {"email": alex.email})
    link = re.search(r"http://[^/]+(/accounts/password/reset/key/\S+/)", mail.outbox[-1].body).group(1)
    form_page = client.get(link, follow=True)
    client.post(
        form_page.redirect_chain[-1][0] if form_page.redirect_chain else link,
        {"password1": "a brand new passphrase 77", "password2": "a brand new passphrase 77"},
    )
    assert User.objects.get(pk=alex.pk).check_password("a brand new passphrase 77")
    assert api.get("/api/me/").status_code == 401


def test_saving_a_user_without_changing_the_password_keeps_their_tokens():
    alex = member()
    _, body = api_token(alex.email)
    alex.first_name = "Alexandra"
    alex.save()
    User.objects.get(pk=alex.pk).save(update_fields=["last_login"])
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {body['token']}")
    assert api.get("/api/me/").status_code == 200


def test_the_api_sign_in_shares_the_accounts_limit_and_ignores_forwarded_for():
    alex = member()
    answers = [api_token(alex.email, "wrong", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")[0] for n in range(1, 9)]
    assert answers[:5] == [400] * 5
    assert set(answers[5:]) == {429}
    assert api_token(alex.email)[0] == 429  # locked for a while, right password or not


# --- The second factor guards the data, whatever door leads to it


def _session_with_a_member(group) -> int:
    from enrollment.services.reservations import reservation_confirm, reservation_hold
    from tests.factories import ALL_TRUE

    who = member(first_name="Ana", last_name="Uniquename")
    reservation_confirm(
        reservation=reservation_hold(member=who, group=group, attestations=ALL_TRUE), actor=who
    )
    return group.sessions.order_by("number").first().pk


def test_a_password_only_therapist_reads_no_attendance_through_the_api(client):
    therapist = licensed_therapist("NY")
    role_grant(therapist.user, THERAPIST)
    session_id = _session_with_a_member(GroupFactory(therapist=therapist))
    client.force_login(therapist.user)  # a password sign-in; no authenticator ever set up
    response = client.get(f"/api/sessions/{session_id}/attendance/")
    assert response.status_code == 403 and response.json()["code"] == "second_factor_required"
    assert "Uniquename" not in response.content.decode()
    page = client.get("/my/")  # a member's page is closed too: default deny
    assert page.status_code == 302 and page.url.startswith("/accounts/2fa/totp/activate/")
    assert client.get("/").status_code == 200  # the public catalog is not


def test_a_token_issued_before_a_second_factor_reads_nothing_and_one_after_does():
    from knox.models import AuthToken

    therapist = licensed_therapist("NY")
    session_id = _session_with_a_member(GroupFactory(therapist=therapist))
    _old, old_token = AuthToken.objects.create(user=therapist.user)  # a member then, say
    role_grant(therapist.user, THERAPIST)
    from tests.factories import second_factor

    second_factor(therapist.user)
    _new, new_token = AuthToken.objects.create(user=therapist.user)  # TokenApi asks for a code now
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {old_token}")
    refused = api.get(f"/api/sessions/{session_id}/attendance/")
    assert refused.status_code == 403 and refused.json()["code"] == "second_factor_required"
    api.credentials(HTTP_AUTHORIZATION=f"Token {new_token}")
    assert "Uniquename" in api.get(f"/api/sessions/{session_id}/attendance/").content.decode()


def test_an_expired_token_is_refused_and_the_hourly_job_deletes_the_rest():
    from knox.models import AuthToken

    from grouport.authentication import tokens_expire

    who = member()
    _live, live = AuthToken.objects.create(user=who)
    _spent, spent = AuthToken.objects.create(user=who, expiry=dt.timedelta(seconds=-1))
    _other, _ = AuthToken.objects.create(user=member(), expiry=dt.timedelta(seconds=-1))
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {spent}")
    assert api.get("/api/me/").status_code == 401
    api.credentials(HTTP_AUTHORIZATION=f"Token {live}")
    assert api.get("/api/me/").status_code == 200
    assert AuthToken.objects.count() == 2  # a request no longer sweeps other people's tokens
    assert tokens_expire() == 1 and AuthToken.objects.count() == 1


def test_enrolling_right_after_signing_in_does_not_ask_for_the_password_again(client):
    therapist = licensed_therapist("NY")
    role_grant(therapist.user, THERAPIST)
    verified(therapist.user)
    signed_in = sign_in_with_password(client, therapist.user)
    to_enrol = client.get(signed_in.url)
    assert to_enrol.url.startswith("/accounts/2fa/totp/activate/")
    assert client.get(to_enrol.url).status_code == 200  # the form, not "Confirm access"
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=6)):
        later = client.get("/accounts/2fa/totp/activate/")
    assert later.status_code == 302 and later.url.startswith("/accounts/reauthenticate/")


def test_the_recovery_codes_page_says_where_to_go_next(client):
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes

    staff = staff_account()
    sign_in(client, staff)
    RecoveryCodes.activate(staff)
    session = client.session
    session[ENROLLED_SESSION_KEY] = staff.pk  # as enrolling leaves it, on its way to the codes
    session.save()
    page = client.get("/accounts/2fa/recovery-codes/").content.decode()
    assert 'href="/admin/"' in page and "continue to the admin" in page


def test_removing_a_second_factor_soon_after_signing_in_still_asks_for_the_password(client):
    from tests.factories import sign_in

    staff = staff_account()
    sign_in(client, staff)  # signed in a moment ago, with the second factor
    page = client.get("/accounts/2fa/totp/deactivate/")
    assert page.status_code == 302 and page.url.startswith("/accounts/reauthenticate/")


# --- One count of wrong passwords per account, whatever the Host header or the door


def test_another_port_in_the_host_header_gives_no_fresh_guesses(client):
    alex = member()
    for n in range(5):
        client.post(
            "/accounts/login/", {"login": alex.email, "password": f"guess-{n}"}, HTTP_HOST="127.0.0.1:8081"
        )
    page = client.post(
        "/accounts/login/", {"login": alex.email, "password": PASSWORD}, HTTP_HOST="127.0.0.1:9999"
    )
    assert page.status_code == 429 or LOCKED in page.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_site_and_the_api_count_wrong_passwords_together(client):
    alex = member()
    for n in range(5):
        client.post("/accounts/login/", {"login": alex.email, "password": f"guess-{n}"})
    assert api_token(alex.email)[0] == 429  # the site's lock holds at the API's door


def test_signing_in_to_your_own_account_does_not_reset_the_per_address_count(monkeypatch):
    from grouport.api import LoginThrottle

    monkeypatch.setattr(LoginThrottle, "rate", "1000/min")  # only allauth's counts in play
    own = member()
    targets = [member() for _ in range(12)]  # a new account each time: the per-account limit never trips
    answers = []
    for target in targets:
        answers.append(api_token(target.email, "guess")[0])
        assert api_token(own.email)[0] in (200, 429)  # the attacker's own account, between guesses
    assert answers[:10] == [400] * 10 and set(answers[10:]) == {429}, answers


# --- A token is a sign-in: a confirmed email, and the second factor


def test_an_unconfirmed_email_gets_no_token():
    alex = member(verified=False)
    status, body = api_token(alex.email)
    assert status == 403 and body["code"] == "email_unverified"


def test_an_account_with_a_second_factor_sends_a_code_and_a_code_works_once():
    alex = member()
    secret = second_factor(alex)
    status, body = api_token(alex.email)
    assert status == 400 and body["code"] == "second_factor_required"
    assert api_token(alex.email, code="000000")[1]["code"] == "incorrect_code"
    code = totp_code(secret)
    status, body = api_token(alex.email, code=code)
    assert status == 200 and body["token"]
    assert api_token(alex.email, code=code)[1]["code"] == "incorrect_code"  # spent


def test_staff_without_a_second_factor_get_no_token():
    ops = UserFactory()
    EmailAddress.objects.create(user=ops, email=ops.email, verified=True, primary=True)
    role_grant(ops, STAFF)
    status, body = api_token(ops.email)
    assert status == 403 and body["code"] == "second_factor_not_set_up"
