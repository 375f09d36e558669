"""The server-rendered catalog and group pages."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client

from grouport.models import User
from groups.models import Group, GroupSession
from tests.factories import GroupFactory, licensed_therapist

pytestmark = pytest.mark.django_db
CRISIS = (b"988", b"911", b"not a crisis service")


def html(response) -> str:
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.sqlite
def test_state_filter_with_no_therapy_groups_points_to_skills_groups(client):
    GroupFactory(title="NY therapy", therapist=licensed_therapist("NY"))
    GroupFactory(title="Open skills", kind=Group.Kind.SKILLS, price=Decimal("0"))
    page = html(client.get("/?state=CA"))
    assert "available in California right now" in page
    assert "DBT skills groups" in page
    assert "Open skills" in page and "NY therapy" not in page
    assert "Pacific time" in page  # times shown in the visitor's own zone


@pytest.mark.sqlite
def test_card_shows_seats_price_and_next_session_in_the_visitors_zone(client):
    with time_machine.travel(dt.datetime(2027, 1, 4, 12, tzinfo=dt.UTC), tick=False):
        GroupFactory(title="Tuesday", starts_on=dt.date(2027, 1, 5), capacity=10, price=Decimal("320"))
        page = html(client.get("/?tz=America/Los_Angeles"))
    assert "10 seats left" in page
    assert "$320.00" in page
    assert "Tue Jan 5, 4:00 PM" in page  # 7 pm Eastern


def test_full_group_card_says_full(client, monkeypatch):
    GroupFactory(title="Crowded", capacity=1)
    from groups import selectors

    original = selectors.groups_with_catalog_facts

    def fully_taken(queryset, *, now):
        from django.db.models import F

        return original(queryset, now=now).annotate(seats_left=F("capacity") - F("capacity"))

    monkeypatch.setattr(selectors, "groups_with_catalog_facts", fully_taken)
    page = html(client.get("/"))
    assert "Full" in page and "seats left" not in page


@pytest.mark.sqlite
def test_time_of_day_is_judged_on_the_visitors_clock(client):
    with time_machine.travel(dt.datetime(2027, 1, 4, 12, tzinfo=dt.UTC), tick=False):
        GroupFactory(title="Noon Eastern", start_time=dt.time(12, 0))
        GroupFactory(title="Six pm Pacific", start_time=dt.time(18, 0), time_zone="America/Los_Angeles")
        eastern_morning = html(client.get("/?time_of_day=morning&tz=America/New_York"))
        pacific_morning = html(client.get("/?time_of_day=morning&tz=America/Los_Angeles"))
        eastern_evening = html(client.get("/?time_of_day=evening&tz=America/New_York"))
    assert "Noon Eastern" not in eastern_morning  # noon is afternoon in New York...
    assert "Noon Eastern" in pacific_morning  # ...and 9 am in California
    assert "Six pm Pacific" in eastern_evening  # 9 pm Eastern
    assert "Six pm Pacific" not in pacific_morning


@pytest.mark.sqlite
def test_bad_filter_value_shows_an_error_and_every_group(client):
    GroupFactory(title="Any group")
    page = html(client.get("/?state=ZZ"))
    assert "Choose a US state" in page
    assert "Any group" in page


@pytest.mark.sqlite
def test_group_page_shows_schedule_who_may_join_and_the_eligibility_answer(client):
    with time_machine.travel(dt.datetime(2027, 2, 1, 12, tzinfo=dt.UTC), tick=False):
        group = GroupFactory(
            title="Spring group",
            therapist=licensed_therapist("NY", "NJ"),
            starts_on=dt.date(2027, 2, 23),
            weeks=6,
        )
        skills = GroupFactory(title="Skills for all", kind=Group.Kind.SKILLS)
        page = html(client.get(f"/groups/{group.slug}/"))
        refused = html(client.get(f"/groups/{group.slug}/?state=FL"))
        accepted = html(client.get(f"/groups/{group.slug}/?state=NJ"))
    assert "Residents of New Jersey or New York" in page
    assert page.count("7:00 PM EST") == 3 and page.count("7:00 PM EDT") == 3  # across March 14
    assert "Reserve a seat" in page
    assert "not licensed in your state" in refused
    assert skills.title in refused
    assert "Yes: you can join this group." in accepted
    assert "video.example.com" not in page  # the private link is for confirmed members only


@pytest.mark.sqlite
def test_cancelled_session_is_marked_on_the_schedule(client):
    group = GroupFactory()
    GroupSession.objects.filter(group=group, number=2).update(status=GroupSession.Status.CANCELLED)
    assert "(cancelled)" in html(client.get(f"/groups/{group.slug}/"))


@pytest.mark.sqlite
def test_draft_group_page_is_a_styled_404_with_crisis_resources(client):
    group = GroupFactory(status=Group.Status.DRAFT)
    response = client.get(f"/groups/{group.slug}/")
    assert response.status_code == 404
    assert b"find that page" in response.content
    assert all(text in response.content for text in CRISIS)


@pytest.mark.sqlite
def test_every_page_carries_the_crisis_footer(client):
    group = GroupFactory()
    for url in ("/", f"/groups/{group.slug}/", "/?state=CA", "/no-such-page/"):
        content = client.get(url).content
        assert all(text in content for text in CRISIS), url


def test_server_error_page_has_crisis_resources_and_needs_no_database(rf, django_assert_num_queries):
    from grouport.views import server_error

    with django_assert_num_queries(0):
        response = server_error(rf.get("/groups/x/"))
    assert response.status_code == 500
    assert all(text in response.content for text in CRISIS)


def test_api_server_error_is_json(rf):
    import json

    from grouport.views import server_error

    response = server_error(rf.get("/api/groups/"))
    assert response.status_code == 500
    assert json.loads(response.content)["code"] == "server_error"


def test_unhandled_error_renders_the_500_page(settings):
    settings.DEBUG = False
    client = Client(raise_request_exception=False)
    from unittest import mock

    with mock.patch("groups.views.group_catalog", side_effect=RuntimeError("boom")):
        response = client.get("/")
    assert response.status_code == 500
    assert b"Something went wrong on our side" in response.content


@pytest.mark.sqlite
def test_seed_demo_is_idempotent_and_covers_the_demo_needs():
    call_command("seed_demo", verbosity=0)
    first = {
        "groups": list(Group.objects.values_list("slug", "starts_on", "capacity")),
        "sessions": GroupSession.objects.count(),
        "users": User.objects.count(),
    }
    call_command("seed_demo", verbosity=0)
    assert first == {
        "groups": list(Group.objects.values_list("slug", "starts_on", "capacity")),
        "sessions": GroupSession.objects.count(),
        "users": User.objects.count(),
    }
    published = Group.objects.filter(status=Group.Status.PUBLISHED)
    assert published.count() >= 8
    assert set(published.values_list("kind", flat=True)) == {"therapy", "skills"}
    assert published.filter(
        time_zone="America/Chicago", kind="therapy", therapist__licenses__state="FL"
    ).exists()
    assert published.filter(kind="skills", price=0).exists()
    assert len(set(published.values_list("weekday", flat=True))) >= 5
    licenses = {
        t.display_name: {lic.state for lic in t.licenses.all()}
        for t in __import__("groups.models", fromlist=["Therapist"]).Therapist.objects.all()
    }
    assert sorted(map(sorted, licenses.values())) == [["FL"], ["FL", "NY"], ["NJ", "NY"]]
    assert User.objects.get(email="staff@grouport.test").check_password("demo-staff-pass")
    assert User.objects.get(email="member@grouport.test").check_password("demo-member-pass")


@pytest.mark.sqlite
def test_a_signed_in_member_sees_what_their_state_allows_until_they_filter(client):
    from tests.factories import member

    GroupFactory(title="NY therapy", therapist=licensed_therapist("NY"))
    GroupFactory(title="FL therapy", therapist=licensed_therapist("FL"))
    client.force_login(member(state="FL"))
    page = html(client.get("/"))
    assert "FL therapy" in page and "NY therapy" not in page and "(from your profile)" in page
    assert "NY therapy" in html(client.get("/?state="))  # "Any state" shows everything


@pytest.mark.sqlite
def test_a_groups_page_shows_the_therapists_license_state_and_number(client):
    therapist = licensed_therapist("NY", "NJ")
    group = GroupFactory(therapist=therapist)
    page = client.get(f"/groups/{group.slug}/").content.decode()
    for lic in therapist.licenses.all():
        assert lic.number in page
    assert "New York" in page and "New Jersey" in page


@pytest.mark.django_db
@pytest.mark.sqlite
def test_the_last_seat_reads_as_english_and_spanish_say_it(client):
    from tests.factories import seated

    group = GroupFactory(capacity=3, price=0, kind="skills", therapist=licensed_therapist("NY"))
    seated(group, at=None)
    seated(group, at=None)
    assert "1 of 3 seats left" in client.get(f"/groups/{group.slug}/").content.decode()
    spanish = client.get(f"/groups/{group.slug}/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "Queda 1 de 3 lugares" in spanish
