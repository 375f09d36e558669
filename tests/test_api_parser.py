"""What no API endpoint can use is refused at the door, for every endpoint at once: JSON
nested a hundred thousand deep (a 500 on every JSON endpoint, the sign-in included), control
characters, a body that is not an object, a body larger than any request needs.

The endpoints come from the OpenAPI schema, so one added tomorrow is covered."""

import json

import pytest
from django.test import Client
from drf_spectacular.generators import SchemaGenerator
from knox.models import AuthToken

from enrollment.services.reservations import reservation_hold
from enrollment.services.waitlist import waitlist_join
from tests.factories import ALL_TRUE, GroupFactory, licensed_therapist, member

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]

BODIES = {
    "nested 100,000 deep": "[" * 100_000 + "]" * 100_000,
    "nested 50 deep": json.dumps({"a": json.loads("[" * 50 + "]" * 50)}),
    "a NUL in a string": json.dumps({"state": "N\x00Y", "email": "a@b.c", "password": "x"}),
    "a control character in a key": json.dumps({"st\x07ate": "NY"}),
    "a list, not an object": json.dumps([{"state": "NY"}]),
    "a number": "5",
    "NaN": '{"state": NaN}',
    "not JSON": "{'state': 'NY'",
    "too large": json.dumps({"note": "x" * 3_000_000}),
}


def _operations_with_a_body() -> list[tuple[str, str]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return [
        (path, method)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in ("post", "put", "patch") and "requestBody" in operation
    ]


def _concrete(path: str, ids: dict[str, str]) -> str:
    for name, value in ids.items():
        path = path.replace("{" + name + "}", value)
    return path


@pytest.fixture
def member_client():
    group = GroupFactory(therapist=licensed_therapist("NY"), capacity=1)
    ana = member()
    reservation_hold(member=ana, group=group, attestations=ALL_TRUE)
    full = GroupFactory(therapist=group.therapist, capacity=1, price=0)
    reservation_hold(member=member(), group=full, attestations=ALL_TRUE)
    entry = waitlist_join(member=ana, group=full)
    _instance, token = AuthToken.objects.create(user=ana)
    ids = {"pk": str(group.pk), "token": "1:nothing", "token_id": "nothing"}
    return Client(HTTP_AUTHORIZATION=f"Token {token}"), ids, entry


def test_every_json_endpoint_refuses_what_no_request_needs_with_a_400(member_client):
    client, ids, entry = member_client
    operations = _operations_with_a_body()
    assert ("/api/auth/token/", "post") in operations and len(operations) >= 6
    answers = []
    for path, method in operations:
        url = _concrete(path, {**ids, "id": str(entry.pk) if "waitlist" in path else ids["pk"]})
        for what, body in BODIES.items():
            response = getattr(client, method)(url, data=body, content_type="application/json")
            answers.append((f"{method.upper()} {path} with {what}", response.status_code))
            assert response.status_code < 500, (path, what, response.content[:200])
            if response.status_code == 400:
                assert response.json()["code"] in ("parse_error", "invalid", "bad_request"), (path, what)
    # Refused at the parser, not by luck: the sign-in (no account needed) answers each with a 400.
    for what, status in answers:
        if what.startswith("POST /api/auth/token/ ") and "50 deep" not in what:
            assert status == 400, what


def test_the_sign_in_refuses_json_nested_deep_without_looking_for_the_account(client):
    response = client.post(
        "/api/auth/token/", data=BODIES["nested 100,000 deep"], content_type="application/json"
    )
    assert response.status_code == 400 and response.json()["code"] == "parse_error"


def test_accepting_a_waitlist_entry_that_has_no_offer_is_a_409_not_a_500(member_client):
    client, _ids, entry = member_client
    body = json.dumps({"attest_residence": True, "attest_location": True, "accept_agreement": True})
    response = client.post(f"/api/waitlist/{entry.pk}/accept/", data=body, content_type="application/json")
    assert response.status_code == 409 and response.json()["code"] == "invalid_transition"


@pytest.mark.parametrize("number", ["²", "٩", "09", " 9", "-1", "1000"])
def test_a_questionnaire_item_written_oddly_is_a_400(client, number):
    from care.links import survey_token
    from care.models import Measure, OutcomeSurvey
    from enrollment.services.reservations import reservation_confirm

    group = GroupFactory(therapist=licensed_therapist("NY"), price=0)
    ana = member()
    seat = reservation_confirm(
        reservation=reservation_hold(member=ana, group=group, attestations=ALL_TRUE), actor=ana
    )
    first = group.sessions.order_by("number").first()
    survey = OutcomeSurvey.objects.create(
        reservation=seat,
        time_point="baseline",
        opens_at=first.starts_at.replace(year=2000),
        closes_at=first.ends_at,
    )
    survey.measures.set(Measure.objects.filter(code="PHQ-9"))
    client.force_login(ana)
    body = json.dumps({"answers": {"PHQ-9": {number: 0}}})
    response = client.post(
        f"/api/questionnaires/{survey_token(survey.pk)}/", data=body, content_type="application/json"
    )
    assert response.status_code == 400, response.content
