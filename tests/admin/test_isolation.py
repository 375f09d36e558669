"""A therapist sees only their own groups on every admin path; staff see everything."""

from decimal import Decimal

import pytest

from enrollment.models import Reservation
from grouport.models import AuditEntry
from groups.models import Group, GroupSession
from tests.factories import sign_in

pytestmark = pytest.mark.django_db


def b_urls(clinic) -> list[str]:
    group = clinic["group_b"]
    session = group.sessions.first()
    return [
        f"/admin/groups/group/{group.pk}/change/",
        f"/admin/groups/group/{group.pk}/history/",
        f"/admin/groups/group/{group.pk}/delete/",
        f"/admin/groups/group/{group.pk}/roster/",
        f"/admin/groups/group/{group.pk}/roster.csv",
        f"/admin/groups/groupsession/{session.pk}/change/",
        f"/admin/groups/groupsession/{session.pk}/history/",
        f"/admin/groups/groupsession/{session.pk}/attendance/",
        f"/admin/groups/therapist/{clinic['b'].pk}/change/",
        f"/admin/enrollment/reservation/{group.reservations.first().pk}/change/",
        f"/admin/grouport/user/{group.reservations.first().member_id}/change/",
        "/admin/enrollment/reservation/",
        "/admin/grouport/user/",
        "/admin/grouport/auditentry/",
        "/admin/billing/payment/",
        "/reports/",
        "/reports/groups.csv",
    ]


def test_therapist_a_is_denied_every_url_of_therapist_bs_objects(client, clinic):
    sign_in(client, clinic["a"].user)
    for url in b_urls(clinic):
        response = client.get(url)
        assert response.status_code in (403, 404), (url, response.status_code)
        body = response.content.decode()
        assert "Bravo-Secret" not in body and "Bravo group" not in body, url


def test_therapist_lists_and_filters_show_only_their_own(client, clinic):
    sign_in(client, clinic["a"].user)
    for url in ("/admin/groups/group/", "/admin/groups/groupsession/", "/admin/"):
        body = client.get(url).content.decode()
        assert "Bravo" not in body, url
        assert clinic["b"].display_name not in body, url  # no therapist filter naming colleagues
    assert "Alpha group" in client.get("/admin/groups/group/").content.decode()


def test_autocomplete_searches_only_the_therapists_own_groups(client, clinic):
    sign_in(client, clinic["a"].user)
    url = "/admin/autocomplete/?app_label=enrollment&model_name=reservation&field_name=group&term="
    found = {r["text"] for r in client.get(url + "group").json()["results"]}
    assert found == {"Alpha group"}
    assert client.get(url + "Bravo").json()["results"] == []


def test_an_action_posted_on_another_therapists_session_does_nothing(client, clinic):
    sign_in(client, clinic["a"].user)
    theirs = clinic["group_b"].sessions.first()
    client.post(
        "/admin/groups/groupsession/",
        {"action": "cancel_sessions", "_selected_action": [theirs.pk]},
    )
    assert GroupSession.objects.get(pk=theirs.pk).status == GroupSession.Status.SCHEDULED


def test_therapist_cannot_change_price_capacity_or_who_leads(client, clinic):
    group = clinic["group_a"]
    sign_in(client, clinic["a"].user)
    page = client.get(f"/admin/groups/group/{group.pk}/change/").content.decode()
    assert 'name="price"' not in page and 'name="capacity"' not in page and 'name="therapist"' not in page
    assert 'name="description"' in page
    client.post(
        f"/admin/groups/group/{group.pk}/change/",
        {"description": "New words", "video_url": "https://video.example.com/new", "price": "1.00",
         "capacity": "99", "modules": ["mindfulness"],
         "sessions-TOTAL_FORMS": "0", "sessions-INITIAL_FORMS": "0"},
    )  # fmt: skip
    group.refresh_from_db()
    assert group.price == Decimal("200.00") and group.capacity == 10
    assert group.description == "New words"
    # Licenses live on the therapist record, which only staff may open.
    assert client.get(f"/admin/groups/therapist/{clinic['a'].pk}/change/").status_code in (403, 404)


def test_staff_see_every_group_and_the_audit_trail(client, clinic):
    sign_in(client, clinic["staff"])
    body = client.get("/admin/groups/group/").content.decode()
    assert "Alpha group" in body and "Bravo group" in body
    assert client.get(f"/admin/groups/group/{clinic['group_b'].pk}/roster/").status_code == 200
    assert client.get("/admin/grouport/auditentry/").status_code == 200
    assert client.get("/reports/").status_code == 200


def test_audit_entries_cannot_be_changed_or_deleted_in_the_admin(client, clinic):
    sign_in(client, clinic["staff"])
    entry = AuditEntry.objects.first()
    assert client.get(f"/admin/grouport/auditentry/{entry.pk}/delete/").status_code == 403
    response = client.post(f"/admin/grouport/auditentry/{entry.pk}/change/", {"action": "forged"})
    assert response.status_code == 403
    assert AuditEntry.objects.get(pk=entry.pk).action == entry.action
    assert client.get("/admin/grouport/auditentry/add/").status_code == 403
    filtered = client.get(f"/admin/grouport/auditentry/?actor__id__exact={clinic['staff'].pk}")
    assert filtered.status_code == 200


def test_members_and_anonymous_visitors_get_nothing(client, clinic):
    member = Reservation.objects.filter(group=clinic["group_a"]).first().member
    sign_in(client, member)
    assert client.get(f"/admin/groups/group/{clinic['group_a'].pk}/roster/").status_code == 302  # admin login
    assert client.get("/reports/").status_code == 403
    client.logout()
    assert client.get("/reports/")["Location"].startswith("/accounts/login/?next=/reports/")


def test_roles_come_from_code():
    from django.contrib.auth.models import Group as Role

    therapist = Role.objects.get(name="therapist")
    codenames = set(therapist.permissions.values_list("codename", flat=True))
    assert {"view_group", "change_group", "change_groupsession", "add_attendance"} <= codenames
    assert not {"change_license", "delete_group", "view_user", "view_auditentry"} & codenames
    staff = set(Role.objects.get(name="staff").permissions.values_list("codename", flat=True))
    assert {"view_auditentry", "change_payment", "view_reservation"} <= staff
    assert "change_auditentry" not in staff and "delete_auditentry" not in staff
    assert Group


def test_staff_cannot_make_anyone_a_superuser(client, clinic):
    from tests.factories import UserFactory, sign_in

    sign_in(client, clinic["staff"])
    page = client.get(f"/admin/grouport/user/{clinic['staff'].pk}/change/").content.decode()
    assert 'name="is_superuser"' not in page and 'name="user_permissions"' not in page
    root = UserFactory(is_superuser=True, is_staff=True)
    assert client.get(f"/admin/grouport/user/{root.pk}/password/").status_code in (403, 404)
    assert (
        client.post(f"/admin/grouport/user/{root.pk}/change/", {"email": "x@example.test"}).status_code == 403
    )
