"""No health information where it need not be, and every look at member data audited:
private answers not cached, strict headers, neutral subjects, safe CSVs, clean 400s."""

import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.template import Context, Template
from django.template.loader import get_template
from rest_framework.test import APIClient

from billing.models import WebhookRejection
from grouport.models import AuditEntry, User
from grouport.roles import STAFF, role_grant
from tests.factories import GroupFactory, licensed_therapist, member, seated, sign_in
from tests.fake_stripe import sign

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]

ROOT = Path(__file__).resolve().parent.parent
CLINICAL = ("dbt", "therapy", "borderline", "bpd", "depress", "anxiety", "diagnos", "mental", "crisis")


@pytest.fixture
def seat():
    group = GroupFactory(
        title="Borderline Personality Disorder DBT Therapy Group",
        price=Decimal("0"),
        therapist=licensed_therapist("NY"),
    )
    reservation = seated(group, at=None)
    return group, reservation.member, reservation


def staff() -> User:
    user = User.objects.create_user("ops@example.test", "pw-ops-123456")
    role_grant(user, STAFF)
    return user


# --- Caching and headers


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


# --- Unprintable input


def test_a_nul_byte_in_an_admin_filter_is_a_400_not_a_500(client):
    sign_in(client, staff())
    assert client.get("/admin/enrollment/reservation/?q=ana%00").status_code == 400
    assert client.get("/admin/grouport/user/?q=%00").status_code == 400


def test_unprintable_input_is_refused_on_pages_the_api_and_forms(client):
    assert client.get("/?state=N%00Y").status_code == 400
    answer = APIClient().get("/api/groups/?state=%01NY")
    assert answer.status_code == 400 and answer.json()["code"] == "invalid_characters"
    posted = client.post("/accounts/login/", {"login": "ana@example.test\x00", "password": "x"})
    assert posted.status_code == 400
    assert client.get("/?state=NY").status_code == 200  # ordinary input is untouched


# --- Webhooks


def post_signed(client, event):
    payload = json.dumps(event).encode()
    return client.post(
        "/billing/stripe/webhook/",
        data=payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign(payload),
    )


@pytest.mark.parametrize(
    "event",
    [
        {"type": "checkout.session.completed"},
        {"id": "evt_1", "type": "charge.refunded"},
        {"id": "evt_2", "data": {}},
        [],
    ],
    ids=["no id", "no data", "no type", "not an object"],
)
def test_a_signed_but_malformed_webhook_is_a_400_recorded_for_staff(client, stripe_fake, event):
    payload = json.dumps(event).encode()
    response = client.post(
        "/billing/stripe/webhook/",
        data=payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign(payload),
    )
    assert response.status_code == 400 and response.json()["code"] == "malformed_event"
    rejection = WebhookRejection.objects.get()
    assert rejection.reason and "@" not in rejection.reason


def test_a_checkout_event_without_a_session_id_is_rejected_not_retried_forever(client, stripe_fake):
    event = stripe_fake.event("checkout.session.completed", {"metadata": {"reservation_id": "1"}})
    payload = json.dumps(event).encode()
    response = client.post(
        "/billing/stripe/webhook/",
        data=payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign(payload),
    )
    assert response.status_code == 400
    assert WebhookRejection.objects.get().event_id == event["id"]


# --- What leaves the server


def test_no_email_subject_names_the_group_or_a_clinical_word(seat):
    group, alex, reservation = seat
    session = group.sessions.first()
    context = {
        "group": group, "reservation": reservation, "session": session, "member": alex,
        "member_tz": "America/New_York", "kind": "24h", "when": "tomorrow", "refund": {"amount": "10.00"},
        "entry": None, "alert": None, "place": "Texas",
    }  # fmt: skip
    subjects = sorted((ROOT / "templates" / "emails").glob("*.subject.txt"))
    assert len(subjects) >= 10
    for path in subjects:
        subject = get_template(f"emails/{path.name}").render(context).strip()
        assert group.title not in subject, path.name
        assert not any(word in subject.lower() for word in CLINICAL), (path.name, subject)


def test_the_reports_csv_cannot_run_as_a_spreadsheet_formula(client):
    GroupFactory(title='=HYPERLINK("http://evil.example","Click")', therapist=licensed_therapist("NY"))
    sign_in(client, staff())
    text = client.get("/reports/groups.csv").content.decode()
    assert "'=HYPERLINK" in text and "\n=HYPERLINK" not in text and ",=HYPERLINK" not in text


def test_sentry_events_are_scrubbed_of_personal_data():
    from grouport.sentry import scrub

    event = {
        "request": {"url": "https://x/my/", "query_string": "email=a@b", "cookies": {"sessionid": "s"},
                    "headers": {"Cookie": "s"}, "data": {"password": "p"}},
        "user": {"email": "a@b", "ip_address": "1.2.3.4"},
        "exception": {"values": [{"stacktrace": {"frames": [{"function": "f", "vars": {"member": "Ana"}}]}}]},
        "breadcrumbs": {"values": [{"message": "SELECT ... ana@example.test", "data": {"x": 1}}]},
    }  # fmt: skip
    cleaned = json.dumps(scrub(event))
    for leak in ("a@b", "sessionid", "password", "1.2.3.4", "Ana", "ana@example.test"):
        assert leak not in cleaned, leak
    assert "https://x/my/" in cleaned


# --- Every look at member data is audited


def test_a_staff_list_view_and_a_search_each_write_one_audit_entry(client, seat):
    _group, alex, _reservation = seat
    for _ in range(3):
        member()
    ops = staff()
    sign_in(client, ops)
    before = AuditEntry.objects.count()
    assert client.get("/admin/enrollment/reservation/?status__exact=confirmed").status_code == 200
    assert client.get(f"/admin/grouport/user/?q={alex.email}").status_code == 200
    assert client.get(f"/admin/grouport/user/{alex.pk}/change/").status_code == 200
    assert client.get("/admin/billing/payment/").status_code == 200
    entries = list(AuditEntry.objects.order_by("pk")[before:])
    assert [(e.action, e.object_type) for e in entries] == [
        ("admin.list_viewed", "enrollment.reservation"),
        ("admin.list_viewed", "grouport.user"),
        ("admin.record_viewed", "grouport.user"),
        ("admin.list_viewed", "billing.payment"),
    ]
    listed, searched, viewed, _ = entries
    assert listed.data == {"filters": {"status__exact": "confirmed"}, "searched": False, "rows": 1}
    assert searched.data["searched"] is True and searched.data["rows"] == 1
    assert alex.email not in json.dumps([e.data for e in entries])  # the words searched are not kept
    assert viewed.object_id == str(alex.pk) and viewed.actor == ops
    assert all(e.ip_address == "127.0.0.1" for e in entries)


def test_the_audit_records_the_real_address_not_a_forwarded_one(client, settings):
    sign_in(client, staff())
    client.get("/admin/grouport/user/", HTTP_X_FORWARDED_FOR="198.51.100.7", REMOTE_ADDR="10.0.0.5")
    assert AuditEntry.objects.latest("pk").ip_address == "10.0.0.5"
    settings.TRUSTED_PROXY_COUNT = 1  # behind one proxy, its address for the client is the one
    client.get("/admin/grouport/user/", HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.7", REMOTE_ADDR="10.0.0.5")
    assert AuditEntry.objects.latest("pk").ip_address == "198.51.100.7"


def test_templates_render_the_crisis_line_on_error_pages():
    for template in ("400.html", "403.html", "404.html", "500.html"):
        assert "988" in get_template(template).render({}), template
    assert "988" in Template("{% include 'includes/crisis.html' %}").render(Context({}))
