"""The member pages, from the group page to a confirmed seat, and nobody else's data."""

import datetime as dt
from decimal import Decimal

import pytest
from django.conf import settings
from django.core import mail
from icalendar import Calendar

from enrollment.models import Reservation
from enrollment.services.reservations import reservation_confirm, reservation_hold
from groups.models import Group, GroupSession
from tests.factories import ALL_TRUE, ATTEST_FORM, GroupFactory, licensed_therapist, member

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]


@pytest.fixture
def group():
    return GroupFactory(
        title="Tuesday Evening DBT Therapy Group",
        capacity=3,
        price=Decimal("320"),
        therapist=licensed_therapist("NY"),
    )


def test_reserve_asks_a_visitor_to_log_in_and_comes_back(client, group):
    response = client.get(f"/groups/{group.slug}/reserve/")
    assert response.status_code == 302
    assert response.url == f"/accounts/login/?next=/groups/{group.slug}/reserve/"
    login = client.get(response.url)
    assert f"next=%2Fgroups%2F{group.slug}%2Freserve%2F" in login.content.decode() or (
        f"/groups/{group.slug}/reserve/" in login.content.decode()
    )


def test_group_page_leads_to_the_reservation_flow(client, group):
    assert f"/groups/{group.slug}/reserve/" in client.get(f"/groups/{group.slug}/").content.decode()


@pytest.mark.parametrize(
    ("who", "text"),
    [
        ({"verified": False}, "verify your email address first"),
        ({"state": ""}, "Complete your profile"),
        ({"state": "CA"}, "open to residents of California"),
    ],
)
def test_reserve_page_explains_what_stands_in_the_way(client, group, who, text):
    GroupFactory(kind=Group.Kind.SKILLS, title="Skills for everyone")
    client.force_login(member(**who))
    page = client.get(f"/groups/{group.slug}/reserve/").content.decode()
    assert text in page
    assert 'name="attest_residence"' not in page
    if who.get("state") == "CA":
        assert "Skills for everyone" in page


def test_hold_pay_offline_confirm_and_see_it_in_my_groups(client, group, django_capture_on_commit_callbacks):
    alex = member(state="NY", first_name="Alex")
    client.force_login(alex)
    page = client.get(f"/groups/{group.slug}/reserve/").content.decode()
    assert "you can join this group" in page and 'name="accept_agreement"' in page
    refused = client.post(f"/groups/{group.slug}/reserve/", {"attest_residence": "on"})
    assert refused.status_code == 400 and "Please confirm each statement" in refused.content.decode()
    response = client.post(f"/groups/{group.slug}/reserve/", ATTEST_FORM)
    reservation = Reservation.objects.get(member=alex)
    assert response.url == f"/reservations/{reservation.pk}/pay/"
    pay = client.get(response.url).content.decode()
    assert "Test mode" in pay and "$320.00" in pay and "data-expires-at" in pay
    assert "48 hours" in pay  # the cancellation policy, before paying
    with django_capture_on_commit_callbacks(execute=True):
        paid = client.post(response.url)
    assert paid.url == f"/reservations/{reservation.pk}/"
    assert Reservation.objects.get(pk=reservation.pk).status == "confirmed"
    assert "Your seat is confirmed" in client.get(paid.url).content.decode()
    assert [m.subject for m in mail.outbox] == ["Your seat is confirmed"]
    assert "$320.00" in mail.outbox[0].body
    mine = client.get("/my/").content.decode()
    assert group.title in mine and "/join/" in mine and "calendar.ics" in mine
    assert group.video_url not in mine  # only through the join link, after checking in


def test_my_groups_shows_times_in_the_members_zone_and_a_join_link_once_confirmed(client):
    group = GroupFactory(
        kind=Group.Kind.SKILLS, start_time=dt.time(19, 0), video_url="https://video.example.com/secret"
    )
    pacific = member(state="CA")
    client.force_login(pacific)
    reservation = reservation_hold(member=pacific, group=group, attestations=ALL_TRUE)
    held = client.get("/my/").content.decode()
    assert "held" in held and "video.example.com/secret" not in held and "/join/" not in held
    reservation_confirm(reservation=reservation, actor=pacific)
    page = client.get("/my/").content.decode()
    assert "/join/" in page and "video.example.com/secret" not in page
    assert "4:00 PM PST" in page or "4:00 PM PDT" in page  # 7 pm Eastern
    assert "Pacific time" in page


def test_calendar_file_lists_the_sessions_and_names_only_the_member(client, group):
    alex, blair = member(), member()
    for who in (alex, blair):
        reservation_confirm(
            reservation=reservation_hold(member=who, group=group, attestations=ALL_TRUE), actor=who
        )
    GroupSession.objects.filter(group=group, number=3).update(status=GroupSession.Status.CANCELLED)
    client.force_login(alex)
    mine = Reservation.objects.get(member=alex)
    response = client.get(f"/reservations/{mine.pk}/calendar.ics")
    assert response["Content-Type"] == "text/calendar"
    assert response["Content-Disposition"] == f'attachment; filename="group-sessions-{mine.pk}.ics"'
    text = response.content.decode()
    assert blair.email not in text and alex.email in text
    assert "DBT" not in text and "Therapy" not in text  # neutral titles: no health information
    events = [c for c in Calendar.from_ical(response.content).walk("VEVENT")]
    assert len(events) == group.weeks
    starts = sorted(e.decoded("dtstart") for e in events)
    assert starts == [s.starts_at for s in group.sessions.order_by("starts_at")]
    assert sum(1 for e in events if e.get("status") == "CANCELLED") == 1
    assert all(f"{settings.SITE_URL}/join/" in str(e.get("location")) for e in events)
    assert len({str(e.get("location")) for e in events}) == group.weeks  # one link per session
    assert group.video_url not in text


def test_cancel_page_shows_the_policy_and_frees_the_seat(client, group):
    alex = member()
    client.force_login(alex)
    reservation = reservation_confirm(
        reservation=reservation_hold(member=alex, group=group, attestations=ALL_TRUE), actor=alex
    )
    page = client.get(f"/reservations/{reservation.pk}/cancel/").content.decode()
    assert "48 hours" in page and "Yes, cancel my reservation" in page
    assert client.post(f"/reservations/{reservation.pk}/cancel/").url == "/my/"
    assert Reservation.objects.get(pk=reservation.pk).status == "cancelled"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/reservations/{r}/"),
        ("get", "/reservations/{r}/pay/"),
        ("post", "/reservations/{r}/pay/"),
        ("get", "/reservations/{r}/cancel/"),
        ("post", "/reservations/{r}/cancel/"),
        ("get", "/reservations/{r}/calendar.ics"),
    ],
)
def test_another_members_reservation_pages_are_404(client, group, method, path):
    alex = member()
    reservation = reservation_hold(member=alex, group=group, attestations=ALL_TRUE)
    client.force_login(member())
    response = getattr(client, method)(path.format(r=reservation.pk))
    assert response.status_code == 404
    assert Reservation.objects.get(pk=reservation.pk).status == "held"


def test_full_group_offers_the_waitlist_and_my_groups_shows_the_place_in_line(client):
    group = GroupFactory(capacity=1, therapist=licensed_therapist("NY"))
    reservation_hold(member=member(), group=group, attestations=ALL_TRUE)
    alex = member()
    client.force_login(alex)
    page = client.get(f"/groups/{group.slug}/reserve/").content.decode()
    assert "This group is full" in page and "Join the waitlist" in page
    assert client.post(f"/groups/{group.slug}/waitlist/").url == "/my/"
    assert "number 1 in line" in client.get("/my/").content.decode()
    assert "See your place in line" in client.get(f"/groups/{group.slug}/reserve/").content.decode()


def test_domain_errors_on_pages_render_a_friendly_page(client, group):
    alex = member()
    client.force_login(alex)
    Group.objects.filter(pk=group.pk).update(capacity=0 + 1)
    reservation_hold(member=member(), group=group, attestations=ALL_TRUE)
    response = client.post(f"/groups/{group.slug}/reserve/", ATTEST_FORM)
    assert response.status_code == 409
    page = response.content.decode()
    assert "This group is full" in page and "988" in page


def test_profile_page_requires_a_zone_for_florida(client):
    alex = member(state="NY")
    client.force_login(alex)
    bad = client.post(
        "/account/profile/", {"first_name": "A", "last_name": "B", "state": "FL", "time_zone": ""}
    )
    assert "choose Eastern or Central" in bad.content.decode()
    ok = client.post(
        "/account/profile/",
        {"first_name": "A", "last_name": "B", "state": "FL", "time_zone": "America/Chicago", "next": "/my/"},
    )
    assert ok.url == "/my/"
    alex.refresh_from_db()
    assert (alex.state, alex.time_zone) == ("FL", "America/Chicago")


@pytest.mark.parametrize("target", ["//evil.example/", "/\\evil.example/", "https://evil.example/"])
def test_profile_next_never_leaves_the_site(client, target):
    client.force_login(member(state="NY"))
    response = client.post(
        "/account/profile/",
        {"first_name": "A", "last_name": "B", "state": "NY", "time_zone": "", "next": target},
    )
    assert response.url == "/account/profile/"


# --- The reserve form: asks only what the group needs, and keeps you on the form


def test_reserving_without_the_statements_shows_the_form_again_with_the_errors(client, therapy):
    client.force_login(member())
    response = client.post(f"/groups/{therapy.slug}/reserve/", {"accept_agreement": "on"})
    page = response.content.decode()
    assert response.status_code == 400
    assert page.count("Please confirm this statement.") == 2  # residence and location
    assert page.count(" required") >= 3 and 'aria-invalid="true"' in page
    assert 'name="accept_agreement"' in page and "checked" in page  # what was ticked stays ticked
    assert not Reservation.objects.exists()


def test_a_skills_group_asks_only_for_the_agreement(client, therapy, skills):
    client.force_login(member(state="CA"))  # anyone, anywhere may join a skills group
    form = client.get(f"/groups/{skills.slug}/reserve/").content.decode()
    assert 'name="accept_agreement"' in form
    assert 'name="attest_residence"' not in form and 'name="attest_location"' not in form
    response = client.post(f"/groups/{skills.slug}/reserve/", {"accept_agreement": "on"})
    assert response.status_code == 302
    client.force_login(member())
    therapy_form = client.get(f"/groups/{therapy.slug}/reserve/").content.decode()
    assert 'name="attest_residence"' in therapy_form and 'name="attest_location"' in therapy_form


def test_an_ineligible_member_sees_skills_groups_instead_of_a_reserve_button(client, therapy, skills):
    client.force_login(member(state="CA"))
    page = client.get(f"/groups/{therapy.slug}/").content.decode()
    assert f"/groups/{therapy.slug}/reserve/" not in page
    assert f"/groups/{skills.slug}/" in page


def test_skills_groups_are_offered_once_to_an_ineligible_member(client, therapy, skills):
    client.force_login(member(state="CA"))
    page = client.get(f"/groups/{therapy.slug}/").content.decode()
    assert page.count(f'href="/groups/{skills.slug}/"') == 1


def test_the_sign_in_page_says_why_it_was_asked(client, therapy):
    page = client.get(f"/accounts/login/?next=/groups/{therapy.slug}/reserve/").content.decode()
    assert "Remember Me:" not in page  # allauth's stock layout is gone
    assert "to reserve a seat" in page.lower()


def test_the_residence_statement_names_the_state(client, therapy):
    client.force_login(member(state="NY"))
    assert (
        "I live in New York, the state on my profile."
        in client.get(f"/groups/{therapy.slug}/reserve/").content.decode()
    )
