"""The public catalog API: shape, filters, errors, constant queries and the schema."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from groups.models import Group
from tests.factories import GroupFactory, LicenseFactory, licensed_therapist

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog():
    ny_nj = licensed_therapist("NY", "NJ")
    fl = licensed_therapist("FL")
    return {
        "ny": GroupFactory(title="NY therapy", therapist=ny_nj, weekday=1, modules=["mindfulness"]),
        "fl": GroupFactory(
            title="FL therapy",
            therapist=fl,
            weekday=3,
            time_zone="America/Chicago",
            modules=["emotion_regulation"],
        ),
        "skills": GroupFactory(
            title="Skills",
            kind=Group.Kind.SKILLS,
            therapist=fl,
            weekday=5,
            price=Decimal("0"),
            modules=["core_principles", "distress_tolerance"],
        ),
        "draft": GroupFactory(title="Draft", therapist=ny_nj, status=Group.Status.DRAFT),
    }


def titles(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {g["title"] for g in response.json()["results"]}


@pytest.mark.sqlite
def test_group_list_shows_published_groups_with_every_field(client, catalog):
    response = client.get("/api/groups/")
    assert titles(response) == {"NY therapy", "FL therapy", "Skills"}
    body = {g["title"]: g for g in response.json()["results"]}
    ny = body["NY therapy"]
    assert set(ny) == {
        "id", "slug", "title", "kind", "description", "modules", "therapist", "weekday", "start_time",
        "timezone", "duration_minutes", "starts_on", "weeks", "next_session_at", "capacity",
        "seats_left", "price", "currency", "eligible_states", "status",
    }  # fmt: skip
    assert ny["therapist"] == {"name": catalog["ny"].therapist.display_name, "credentials": "LCSW"}
    assert ny["eligible_states"] == ["NJ", "NY"]
    assert ny["price"] == "200.00"
    assert ny["seats_left"] == ny["capacity"] == 10
    assert ny["modules"] == ["mindfulness"]
    next_at = dt.datetime.fromisoformat(ny["next_session_at"])
    assert next_at.utcoffset() in (dt.timedelta(hours=-5), dt.timedelta(hours=-4))
    assert next_at.strftime("%H:%M") == "19:00"
    assert body["Skills"]["eligible_states"] is None
    assert "video_url" not in ny  # private: only confirmed members ever see it


@pytest.mark.sqlite
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("state=NY", {"NY therapy", "Skills"}),
        ("state=nj", {"NY therapy", "Skills"}),
        ("state=FL", {"FL therapy", "Skills"}),
        ("state=CA", {"Skills"}),
        ("state=XX", {"Skills"}),
        ("kind=therapy", {"NY therapy", "FL therapy"}),
        ("weekday=3", {"FL therapy"}),
        ("module=distress_tolerance", {"Skills"}),
        ("state=NY&kind=therapy", {"NY therapy"}),
    ],
)
def test_group_list_filters(client, catalog, query, expected):
    assert titles(client.get(f"/api/groups/?{query}")) == expected


def test_state_filter_hides_a_therapy_group_whose_license_lapses_before_the_end(client):
    therapist = licensed_therapist()
    LicenseFactory(therapist=therapist, state="NY", expires_on=timezone.localdate() + dt.timedelta(days=20))
    GroupFactory(title="Long", therapist=therapist, weeks=12)
    GroupFactory(title="Short", therapist=therapist, weeks=1)
    assert titles(client.get("/api/groups/?state=NY")) == {"Short"}


def test_finished_groups_are_not_listed(client):
    GroupFactory(title="Old", starts_on=dt.date(2020, 1, 7), weekday=1, weeks=2)
    GroupFactory(title="Upcoming")
    assert titles(client.get("/api/groups/")) == {"Upcoming"}


@pytest.mark.sqlite
@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("state=ZZ", "invalid_state"),
        ("kind=clinic", "invalid_kind"),
        ("weekday=9", "invalid_weekday"),
        ("weekday=monday", "invalid_weekday"),
        ("module=yoga", "invalid_module"),
    ],
)
def test_bad_filters_are_a_400_with_a_code(client, catalog, query, code):
    response = client.get(f"/api/groups/?{query}")
    assert response.status_code == 400
    assert response.json()["code"] == code
    assert response.json()["detail"]


def test_group_detail_and_unknown_or_draft_group_is_404(client, catalog):
    ok = client.get(f"/api/groups/{catalog['ny'].pk}/")
    assert ok.status_code == 200 and ok.json()["slug"] == catalog["ny"].slug
    for pk in (catalog["draft"].pk, 999999):
        response = client.get(f"/api/groups/{pk}/")
        assert response.status_code == 404
        assert response.json() == {"code": "not_found", "detail": "No published group has that id."}
    assert client.get("/api/nothing-here/").json()["code"] == "not_found"


@pytest.mark.sqlite
@pytest.mark.parametrize(
    ("query", "eligible", "reasons"),
    [
        ("state=NY", True, []),
        ("state=CA", False, ["not_service_state"]),
        ("state=XX", False, ["outside_us"]),
        ("state=NJ", True, []),
    ],
)
def test_eligibility_by_state(client, catalog, query, eligible, reasons):
    body = client.get(f"/api/eligibility/?{query}").json()
    assert body["eligible"] is eligible
    assert body["reasons"] == reasons
    assert [a["title"] for a in body["alternatives"]] == ([] if eligible else ["Skills"])


def test_eligibility_in_a_service_state_with_no_open_therapy_group(client, catalog, settings):
    settings.SERVICE_STATES = ("FL", "NY", "NJ", "PA")
    body = client.get("/api/eligibility/?state=PA").json()
    assert body == {
        "state": "PA",
        "eligible": False,
        "reasons": ["no_open_therapy_group_in_state"],
        "alternatives": [
            {"id": catalog["skills"].pk, "slug": catalog["skills"].slug, "title": "Skills", "kind": "skills"}
        ],
    }


def test_eligibility_for_one_group(client, catalog):
    fl = catalog["fl"].pk
    assert client.get(f"/api/eligibility/?state=FL&group={fl}").json()["eligible"] is True
    no = client.get(f"/api/eligibility/?state=NY&group={fl}").json()
    assert no["eligible"] is False
    assert no["reasons"] == ["therapist_not_licensed_in_state"]
    assert no["alternatives"][0]["kind"] == "skills"
    assert client.get(f"/api/eligibility/?state=CA&group={catalog['skills'].pk}").json()["eligible"] is True


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ("state=ZZ", 400, "invalid_state"),
        ("", 400, "invalid_state"),
        ("state=NY&group=abc", 400, "invalid_group"),
        ("state=NY&group=999999", 404, "not_found"),
    ],
)
def test_eligibility_errors(client, catalog, query, status, code):
    response = client.get(f"/api/eligibility/?{query}")
    assert response.status_code == status
    assert response.json()["code"] == code


def test_group_list_runs_the_same_queries_for_5_or_200_groups(client, django_assert_max_num_queries):
    therapists = [licensed_therapist("NY"), licensed_therapist("FL", "NJ")]

    def make(n):
        for i in range(n):
            GroupFactory(therapist=therapists[i % 2], kind=Group.Kind.SKILLS if i % 3 else Group.Kind.THERAPY)

    make(5)
    with django_assert_max_num_queries(4):  # count, groups, modules, licenses
        assert client.get("/api/groups/?state=NY").status_code == 200
    make(195)
    with django_assert_max_num_queries(4):
        response = client.get("/api/groups/?state=NY")
    assert response.json()["count"] > 100
    with django_assert_max_num_queries(8):
        assert client.get("/?state=NY").status_code == 200


def test_openapi_schema_generates_without_warnings(tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    text = out.read_text()
    for path in ("/api/groups/", "/api/groups/{id}/", "/api/eligibility/"):
        assert path in text


def test_schema_and_docs_pages_are_served_without_a_cdn(client):
    assert client.get("/api/schema/").status_code == 200
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"cdn" not in docs.content.lower()
    assert b"/static/drf_spectacular_sidecar/" in docs.content


@pytest.mark.sqlite
def test_migrations_match_the_models():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)
