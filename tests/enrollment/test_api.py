"""The member API: tokens, profile (each field typed), reservations and waitlist, each member
only their own."""

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from enrollment.models import Reservation, WaitlistEntry
from grouport.models import User
from groups.models import Group
from tests.factories import ATTEST_JSON, GroupFactory, licensed_therapist, member

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]


def api_for(user) -> APIClient:
    client = APIClient()
    token = APIClient().post(
        "/api/auth/token/", {"email": user.email, "password": "correct horse battery"}, format="json"
    )
    assert token.status_code == 200, token.content
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.json()['token']}")
    return client


@pytest.fixture
def group():
    return GroupFactory(capacity=1, price=Decimal("150"), therapist=licensed_therapist("NY"))


def reserve(client, group, body=ATTEST_JSON):
    return client.post(f"/api/groups/{group.pk}/reservations/", body, format="json")


def test_token_errors_are_the_same_for_unknown_email_and_wrong_password():
    alex = member()
    anon = APIClient()
    wrong = anon.post("/api/auth/token/", {"email": alex.email, "password": "nope"}, format="json")
    unknown = anon.post(
        "/api/auth/token/", {"email": "nobody@example.test", "password": "nope"}, format="json"
    )
    assert wrong.status_code == unknown.status_code == 400
    assert (
        wrong.json()
        == unknown.json()
        == {"code": "invalid_credentials", "detail": "Email or password is not correct."}
    )


def test_me_reads_and_updates_the_profile_with_the_florida_rule():
    api = api_for(member(state="NY"))
    assert api.get("/api/me/").json()["state"] == "NY"
    florida = api.patch("/api/me/", {"state": "FL", "time_zone": ""}, format="json")
    assert florida.status_code == 400
    assert florida.json()["code"] == "invalid" and "time_zone" in florida.json()["errors"]
    ok = api.patch(
        "/api/me/", {"state": "FL", "time_zone": "America/Chicago", "first_name": "Ana"}, format="json"
    )
    assert ok.status_code == 200
    assert ok.json()["time_zone"] == "America/Chicago" and ok.json()["first_name"] == "Ana"
    assert api.patch("/api/me/", {"state": "ZZ"}, format="json").status_code == 400


@pytest.mark.parametrize("url", ["/api/me/", "/api/reservations/", "/api/waitlist/", "/api/reservations/1/"])
def test_member_endpoints_need_authentication(url):
    response = APIClient().get(url)
    assert response.status_code in (401, 403)
    assert response.json()["code"] in ("not_authenticated", "authentication_failed")


def test_reserve_returns_the_hold_and_next_action(group):
    response = reserve(api_for(member()), group)
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) >= {"id", "status", "expires_at", "group", "next_action"}
    assert body["status"] == "held" and body["group"] == group.pk
    assert body["next_action"] == {"type": "pay", "url": f"/reservations/{body['id']}/pay/"}


def test_free_group_reservation_comes_back_confirmed():
    free = GroupFactory(price=Decimal("0"), kind=Group.Kind.SKILLS)
    body = reserve(api_for(member(state="CA")), free).json()
    assert body["status"] == "confirmed" and body["next_action"]["type"] == "confirmed"


@pytest.mark.parametrize(
    ("who", "body", "status", "code"),
    [
        ({"verified": False}, ATTEST_JSON, 403, "email_unverified"),
        ({"state": "CA"}, ATTEST_JSON, 403, "not_eligible"),
        ({}, {"attest_residence": True, "attest_location": True}, 400, "attestation_required"),
        ({}, {}, 400, "attestation_required"),
        (
            {},
            {"attest_residence": "maybe", **{k: True for k in ("attest_location", "accept_agreement")}},
            400,
            "invalid",
        ),
    ],
)
def test_hand_made_requests_cannot_skip_a_rule(group, who, body, status, code):
    person = member(**who)
    if who.get("verified") is False:
        # No token is issued before the email is confirmed; a session of one made before
        # the check existed (or any other way in) still cannot reserve.
        api = APIClient()
        api.force_authenticate(person)
    else:
        api = api_for(person)
    response = reserve(api, group, body)
    assert response.status_code == status
    assert response.json()["code"] == code
    assert not Reservation.objects.exists()


def test_not_eligible_carries_reasons_and_alternatives(group):
    skills = GroupFactory(kind=Group.Kind.SKILLS)
    body = reserve(api_for(member(state="FL")), group).json()
    assert body["reasons"] == ["therapist_not_licensed_in_state"]
    assert [a["id"] for a in body["alternatives"]] == [skills.pk]


def test_full_and_already_reserved_are_409(group):
    alex = api_for(member())
    assert reserve(alex, group).status_code == 201
    again = reserve(alex, group)
    assert (again.status_code, again.json()["code"]) == (409, "already_reserved")
    full = reserve(api_for(member()), group)
    assert (full.status_code, full.json()["code"]) == (409, "group_full")
    assert full.json()["waitlist_url"] == f"/api/groups/{group.pk}/waitlist/"


def test_closed_group_is_400_and_draft_or_unknown_is_404(group):
    api = api_for(member())
    Group.objects.filter(pk=group.pk).update(status=Group.Status.CLOSED)
    assert reserve(api, group).json()["code"] == "group_closed"
    Group.objects.filter(pk=group.pk).update(status=Group.Status.DRAFT)
    assert reserve(api, group).status_code == 404
    assert api.post("/api/groups/999999/reservations/", ATTEST_JSON, format="json").status_code == 404


def test_members_never_see_or_touch_each_others_reservations(group):
    alex, blair = api_for(member()), api_for(member())
    mine = reserve(alex, group).json()["id"]
    assert [r["id"] for r in alex.get("/api/reservations/").json()["results"]] == [mine]
    assert blair.get("/api/reservations/").json()["results"] == []
    assert blair.get(f"/api/reservations/{mine}/").status_code == 404
    assert blair.post(f"/api/reservations/{mine}/cancel/").status_code == 404
    assert Reservation.objects.get(pk=mine).status == "held"
    cancelled = alex.post(f"/api/reservations/{mine}/cancel/")
    assert cancelled.json()["status"] == "cancelled"
    again = alex.post(f"/api/reservations/{mine}/cancel/")
    assert (again.status_code, again.json()["code"]) == (409, "invalid_transition")


def test_waitlist_join_position_offer_accept_over_the_api(group):
    holder, alex, blair = api_for(member()), api_for(member()), api_for(member())
    seat = reserve(holder, group).json()["id"]
    assert alex.post(f"/api/groups/{group.pk}/waitlist/").status_code == 201
    assert blair.post(f"/api/groups/{group.pk}/waitlist/").status_code == 201
    dup = alex.post(f"/api/groups/{group.pk}/waitlist/")
    assert (dup.status_code, dup.json()["code"]) == (409, "already_waitlisted")
    assert [e["position"] for e in blair.get("/api/waitlist/").json()["results"]] == [2]
    holder.post(f"/api/reservations/{seat}/cancel/")
    entry = alex.get("/api/waitlist/").json()["results"][0]
    assert entry["status"] == "offered" and entry["offer"]["status"] == "held"
    assert entry["offer"]["next_action"]["type"] == "accept_offer"
    # Blair cannot answer Alex's offer.
    assert blair.post(f"/api/waitlist/{entry['id']}/accept/", ATTEST_JSON, format="json").status_code == 404
    assert blair.post(f"/api/waitlist/{entry['id']}/decline/").status_code == 404
    accepted = alex.post(f"/api/waitlist/{entry['id']}/accept/", ATTEST_JSON, format="json")
    assert accepted.status_code == 200, accepted.content
    assert accepted.json()["next_action"]["type"] == "pay"
    assert [e["position"] for e in blair.get("/api/waitlist/").json()["results"]] == [1]
    assert blair.delete(f"/api/groups/{group.pk}/waitlist/").status_code == 204
    assert WaitlistEntry.objects.get(member__email=blair.get("/api/me/").json()["email"]).status == "left"
    assert blair.delete(f"/api/groups/{group.pk}/waitlist/").status_code == 404


def test_joining_the_waitlist_of_a_group_with_seats_is_409():
    group = GroupFactory(therapist=licensed_therapist("NY"))
    response = api_for(member()).post(f"/api/groups/{group.pk}/waitlist/")
    assert (response.status_code, response.json()["code"]) == (409, "seats_available")


def test_session_auth_works_for_the_browser(client, group):
    alex = member()
    client.force_login(alex)
    assert client.get("/api/me/").json()["email"] == alex.email


def test_a_reservation_takes_fifteen_queries_or_fewer(django_assert_max_num_queries):
    """bench/reserve.py's request, pinned: a token, eligibility, the hold under the group's
    lock and its audit entry. (It had grown to 14: knox scanned all the member's tokens on
    every request, and the agreement was read from the database every time.) The duty of
    care adds two reads: the intake, with whether a screening question is due and today's
    consent signed (the consent itself is cached like the agreement), and whether an answer
    waits for a clinician. Fees add one: whether the group has fee tiers or any code is live
    (then the pay page asks before Checkout opens)."""
    roomy = GroupFactory(capacity=5, price=Decimal("150"), therapist=licensed_therapist("NY"))
    client = api_for(member())
    reserve(client, GroupFactory(capacity=5, price=Decimal("150"), therapist=roomy.therapist))  # warm
    with django_assert_max_num_queries(15):
        assert reserve(client, roomy).status_code == 201


def test_the_agreement_is_read_once_then_cached_until_a_version_is_saved_or_comes_due(
    django_assert_num_queries, django_capture_on_commit_callbacks
):
    import datetime as dt

    import time_machine
    from django.utils import timezone

    from enrollment.models import GroupAgreement
    from enrollment.selectors import agreement_current

    first = agreement_current()
    with django_assert_num_queries(0):
        assert agreement_current().pk == first.pk
    now = timezone.now()
    later = GroupAgreement.objects.create(
        version=first.version + 1, body="New", body_es="Nuevo", published_at=now + dt.timedelta(minutes=20)
    )
    assert agreement_current().pk == first.pk  # saved, read again: not published yet
    with time_machine.travel(now + dt.timedelta(minutes=21)):
        assert agreement_current().pk == later.pk  # its time came: no stale cache
    GroupAgreement.objects.filter(pk=later.pk).update(published_at=now)
    with django_capture_on_commit_callbacks(execute=True):  # the save commits
        sooner = GroupAgreement.objects.create(
            version=later.version + 1, body="N", body_es="N", published_at=now
        )
    assert agreement_current().pk == sooner.pk  # a new version saved: read at once


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
