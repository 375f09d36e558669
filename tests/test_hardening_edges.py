"""The edges an adversarial trial of production found: each one here fails without its fix.

One sign-in limit per account whatever the Host header or the door (site or API), a token
is a sign-in (confirmed email, second factor), links from SITE_URL, filter values kept out
of the audit, signed-but-odd webhooks answered 400, a Stripe outage that keeps the seat,
reports that refuse impossible dates, typed profile fields, and settings that refuse a
mistyped DJANGO_ENV, a simple key or a top-level-domain host.
"""

import json
import socket
from decimal import Decimal

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.core.management import CommandError, call_command
from django.test import override_settings
from rest_framework.test import APIClient

from billing.models import Payment, WebhookRejection
from config.settings.safety import is_production, production_problems
from enrollment.models import Reservation
from grouport.log_privacy import RedactRequestPaths, redact_path, scrub_message
from grouport.models import AuditEntry, User
from grouport.roles import STAFF, role_grant
from tests.factories import (
    ATTEST_FORM,
    GroupFactory,
    UserFactory,
    licensed_therapist,
    member,
    second_factor,
    sign_in,
    totp_code,
)
from tests.fake_stripe import sign

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]

PASSWORD = "correct horse battery"
LOCKED = "Too many failed sign-in attempts"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api_token(email: str, password: str = PASSWORD, **extra) -> tuple[int, dict]:
    answer = APIClient().post(
        "/api/auth/token/", {"email": email, "password": password, **extra}, format="json"
    )
    return answer.status_code, answer.json()


# --- One count of wrong passwords per account


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


# --- A token is a sign-in


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


# --- Links point at the site, not at the Host a request claimed


def test_a_reset_link_is_built_from_site_url_not_the_host_header(client, settings):
    settings.SITE_URL = "https://groups.example.org"
    settings.ALLOWED_HOSTS = ["127.0.0.1", "testserver"]
    alex = member()
    client.post("/accounts/password/reset/", {"email": alex.email}, HTTP_HOST="127.0.0.1:6666")
    body = mail.outbox[-1].body
    assert "https://groups.example.org/accounts/password/reset/key/" in body
    assert "6666" not in body


# --- The audit keeps which filters, not what was typed


def test_typed_filter_values_are_not_kept_in_the_audit(client):
    alex = member(last_name="Bergström")
    ops = User.objects.create_user("ops@example.test", "pw-ops-123456")
    role_grant(ops, STAFF)
    sign_in(client, ops)
    client.get(f"/admin/grouport/user/?last_name=Berg&email__icontains={alex.email[:6]}&is_active__exact=1")
    entry = AuditEntry.objects.filter(action="admin.list_viewed").latest("pk")
    assert entry.data["filters"] == {
        "last_name": "[redacted]",
        "email__icontains": "[redacted]",
        "is_active__exact": "1",
    }
    client.get("/admin/enrollment/reservation/?status__exact=confirmed&group__id__exact=4")
    entry = AuditEntry.objects.filter(action="admin.list_viewed").latest("pk")
    assert entry.data["filters"] == {"status__exact": "confirmed", "group__id__exact": "4"}


# --- Signed webhooks that are not Stripe's shape: 400 and a record, never a 500


@pytest.mark.parametrize(
    "payload",
    [
        json.dumps({"id": "evt_\u0000x", "type": "charge.refunded", "data": {"object": {}}}).encode(),
        json.dumps({"id": "evt_" + "x" * 300, "type": "charge.refunded", "data": {"object": {}}}).encode(),
        json.dumps({"id": "evt_1", "type": "charge.refunded\u0000", "data": {"object": {}}}).encode(),
        b"[" * 5000 + b"]" * 5000,
        json.dumps(
            {
                "id": "evt_2",
                "type": "charge.refunded",
                "data": {"object": {"payment_intent": "pi_" + "9" * 300}},
            }
        ).encode(),
    ],
    ids=["nul in id", "id too long", "nul in type", "nested 5000 deep", "intent too long"],
)
def test_a_signed_odd_webhook_is_a_400_and_recorded(client, stripe_fake, payload):
    response = client.post(
        "/billing/stripe/webhook/",
        data=payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign(payload),
    )
    assert response.status_code == 400 and response.json()["code"] == "malformed_event"
    assert WebhookRejection.objects.count() == 1


# --- Stripe unreachable: the seat stays held, the member is told and can try again


def test_when_stripe_cannot_be_reached_the_seat_stays_held_and_the_pay_page_says_so(
    client, stripe_fake, settings
):
    group = GroupFactory(price=Decimal("320.00"), therapist=licensed_therapist("NY"))
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    alex = member()
    client.force_login(alex)
    response = client.post(f"/groups/{group.slug}/reserve/", ATTEST_FORM)
    reservation = Reservation.objects.get(member=alex)
    # Straight to the page that says so (not a second wait on the payment service).
    assert (
        response.status_code == 302 and response.url == f"/reservations/{reservation.pk}/pay/?unavailable=1"
    )
    assert reservation.status == Reservation.Status.HELD
    page = client.get(response.url)
    assert page.status_code == 503
    assert "still held" in page.content.decode() and "Try again" in page.content.decode()
    # Back online: the same attempt opens its page (one payment, one idempotency key).
    settings.STRIPE_API_BASE = stripe_fake.url
    again = client.get(f"/reservations/{reservation.pk}/pay/")
    assert again.status_code == 302 and again.url.startswith(f"{stripe_fake.url}/checkout/")
    assert Payment.objects.filter(reservation=reservation).count() == 1


# --- Reports: impossible dates are an error, not a 500 or a silent other range


def test_reports_refuse_dates_a_datetime_cannot_hold(client):
    ops = User.objects.create_user("ops2@example.test", "pw-ops-123456")
    role_grant(ops, STAFF)
    sign_in(client, ops)
    page = client.get("/reports/?date_from=0001-01-01&date_to=9999-12-31")
    assert page.status_code == 200 and "Pick dates between" in page.content.decode()
    for key in ("weeks", "retention"):
        csv = client.get(f"/reports/{key}.csv?date_from=0001-01-01&date_to=9999-12-31")
        assert csv.status_code == 400 and "Pick dates between" in csv.content.decode()
    assert client.get("/reports/weeks.csv?date_from=2020-01-01&date_to=2040-01-01").status_code == 400


# --- The API types what it stores


@pytest.mark.parametrize(
    "body",
    [{"first_name": {"a": 1}}, {"time_zone": None}, {"last_name": ["x"]}],
    ids=["dict", "null zone", "list"],
)
def test_a_profile_field_of_the_wrong_type_is_refused(body):
    alex = member()
    api = APIClient()
    api.force_authenticate(alex)
    answer = api.patch("/api/me/", body, format="json")
    assert answer.status_code == 400 and answer.json()["code"] == "invalid"
    fresh = User.objects.get(pk=alex.pk)
    assert (fresh.first_name, fresh.last_name, fresh.time_zone) == (
        alex.first_name,
        alex.last_name,
        alex.time_zone,
    )


# --- What production refuses


@pytest.mark.parametrize("name", ["production", "Production", "PROD", " prod "])
def test_every_spelling_of_production_is_production(name):
    assert is_production(name) is True


@pytest.mark.parametrize("name", ["staging", "prdouction", "live"])
def test_an_unknown_environment_name_is_refused_not_run_as_development(name):
    with pytest.raises(ValueError, match="DJANGO_ENV"):
        is_production(name)


def _problems(**changes) -> list[str]:
    good = {
        "debug": False,
        "secret_key": "k3Y-" + "".join(chr(65 + (n * 7) % 58) for n in range(60)),
        "allowed_hosts": ["groups.example.org"],
        "site_url": "https://groups.example.org",
        "database_engine": "django.db.backends.postgresql",
        "email_backend": "django.core.mail.backends.smtp.EmailBackend",
        "stripe_secret_key": "sk_live_x",
        "stripe_webhook_secret": "whsec_x",
        "redis_url": "redis://redis:6379/0",
        "care_team_email": "care@example.org",
        "build_only": False,
        "collecting_static": False,
    }
    return production_problems(**{**good, **changes})


def test_good_production_settings_have_no_problems():
    assert _problems() == []


@pytest.mark.parametrize(
    "changes, words",
    [
        ({"secret_key": "abcde" * 12}, "too short or too simple"),
        ({"allowed_hosts": [".com"]}, "top-level domain"),
        ({"allowed_hosts": ["groups.example.org", ".org"]}, "top-level domain"),
        ({"care_team_email": ""}, "CARE_TEAM_EMAIL is not a real address"),
        ({"care_team_email": "care-team@grouport.local"}, "CARE_TEAM_EMAIL is not a real address"),
    ],
    ids=["five-letter key", "a tld", "a tld among good hosts", "no care team", "the development care team"],
)
def test_weak_production_settings_are_refused(changes, words):
    assert any(words in problem for problem in _problems(**changes))


def test_a_subdomain_wildcard_of_our_own_domain_is_allowed():
    assert _problems(allowed_hosts=[".example.org"]) == []


def test_the_demo_data_never_loads_in_production(settings):
    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="production"):
        call_command("seed_demo")
    assert not User.objects.filter(email="staff@grouport.test").exists()


# --- Logs


def test_a_path_gunicorn_could_not_parse_is_an_empty_path_not_a_crash():
    assert redact_path(None) == ""
    assert redact_path("/api/auth/tokens/abcdef0123/?x=1") == "/api/auth/tokens/[redacted]/"
    # A questionnaire's token, and whether its help page was shown, stay out of access logs.
    assert redact_path("/questions/6:abc/support/") == redact_path("/questions/6:abc/results/")
    assert "6:abc" not in redact_path("/questions/6:abc/support/") + redact_path("/api/questionnaires/6:abc/")


def test_error_messages_lose_the_client_address():
    assert scrub_message("Invalid request from ip=203.0.113.9: Invalid header") == (
        "Invalid request from ip=[redacted]: Invalid header"
    )


def test_djangos_request_log_loses_the_secret_in_a_path():
    import logging

    record = logging.LogRecord(
        "django.request", logging.WARNING, "", 0, "%s: %s", ("Unauthorized", "/api/auth/tokens/abc123/"), None
    )
    RedactRequestPaths().filter(record)
    assert record.getMessage() == "Unauthorized: /api/auth/tokens/[redacted]/"


# --- A Redis outage: sign-in still works, and the limits still count


@pytest.fixture
def redis_down():
    dead = f"redis://127.0.0.1:{free_port()}/0"
    caches = {
        "default": {
            "BACKEND": "grouport.cache.FailoverRedisCache",
            "LOCATION": dead,
            "KEY_PREFIX": "grouport-test",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5},
        }
    }
    with override_settings(CACHES=caches):
        yield


def test_with_redis_down_the_right_password_signs_in(client, redis_down):
    alex = member()
    page = client.post("/accounts/login/", {"login": alex.email, "password": PASSWORD})
    assert page.status_code == 302 and client.session.get("_auth_user_id") == str(alex.pk)


def test_with_redis_down_wrong_passwords_still_lock_the_account(client, redis_down):
    alex = member()
    for n in range(5):
        client.post("/accounts/login/", {"login": alex.email, "password": f"guess-{n}"})
    page = client.post("/accounts/login/", {"login": alex.email, "password": PASSWORD})
    assert page.status_code == 429 or LOCKED in page.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_failover_cache_answers_from_memory_and_tries_redis_again_later(redis_down, monkeypatch):
    from django.core.cache import cache

    from grouport import cache as failover

    assert cache.add("k", 1, 30) is True and cache.get("k") == 1
    attempts = []
    real_get = failover.RedisCache.get

    def counting_get(self, *args, **kwargs):
        attempts.append(1)
        return real_get(self, *args, **kwargs)

    monkeypatch.setattr(failover.RedisCache, "get", counting_get)
    cache.get("k")
    assert attempts == []  # within RETRY_AFTER: memory only, no 0.5 s wait per call
    monkeypatch.setattr(failover, "RETRY_AFTER", 0.0)
    cache._down_until = 0.0
    assert cache.get("k") == 1 or cache.get("k") is None
    assert attempts  # tried Redis again
