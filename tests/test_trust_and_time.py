"""A clinic a person in distress can trust: help first on every page, pages that say who we
are, forms that keep you on the form, a versioned group agreement, and one stated time zone."""

import datetime as dt
import re
from decimal import Decimal

import pytest
import time_machine
from django.test import Client
from rest_framework.test import APIClient

from enrollment.models import GroupAgreement, Reservation
from enrollment.services.reservations import reservation_confirm, reservation_hold
from grouport.models import User
from grouport.roles import THERAPIST, role_grant
from grouport.templatetags.grouport import time_left_text
from groups.models import Group
from tests.factories import ALL_TRUE, ATTEST_FORM, GroupFactory, licensed_therapist, member, sign_in

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]
# The skip link, then the help link: before the header, the menu, anything.
HELP_FIRST = re.compile(
    r'<body>\s*<a class="skip"[^>]*>[^<]*</a>\s*'
    r'<aside class="help-now" aria-label="[^"]+"><a href="/help/">'
)


@pytest.fixture
def therapy():
    return GroupFactory(title="Evening Therapy", price=Decimal("320"), therapist=licensed_therapist("NY"))


@pytest.fixture
def skills():
    return GroupFactory(title="Open Skills", kind=Group.Kind.SKILLS, price=Decimal("0"))


# --- Help first, on every page


def test_every_member_page_opens_with_the_help_link(client, therapy, skills):
    alex = member()
    held = reservation_hold(member=alex, group=therapy, attestations=ALL_TRUE)
    public = [
        "/",
        f"/groups/{therapy.slug}/",
        "/help/",
        "/about/",
        "/privacy/",
        "/terms/",
        "/contact/",
        "/agreement/",
        "/accounts/login/",
        "/accounts/signup/",
        "/accounts/password/reset/",
        "/nope/",
    ]
    member_pages = [
        f"/groups/{skills.slug}/reserve/",
        "/my/",
        "/account/profile/",
        f"/reservations/{held.pk}/",
        f"/reservations/{held.pk}/pay/",
        f"/reservations/{held.pk}/cancel/",
        "/accounts/password/change/",
    ]
    for path in public:
        assert HELP_FIRST.search(client.get(path).content.decode()), path
    client.force_login(alex)
    for path in member_pages:
        response = client.get(path)
        assert response.status_code == 200, path
        assert HELP_FIRST.search(response.content.decode()), path


def test_the_help_page_calls_texts_in_spanish_and_outside_the_us(client):
    page = client.get("/help/").content.decode()
    assert 'href="tel:988"' in page and 'href="sms:988"' in page
    assert 'href="sms:988?&amp;body=AYUDA"' in page  # Spanish by text
    assert 'href="tel:911"' in page and 'id="outside-us"' in page


def test_a_failed_form_check_is_the_sites_own_page_with_988():
    csrf_client = Client(enforce_csrf_checks=True)
    response = csrf_client.post("/language/", {"language": "es"})
    page = response.content.decode()
    assert response.status_code == 403
    assert "CSRF verification failed" not in page
    assert HELP_FIRST.search(page) and 'href="tel:988"' in page


@pytest.mark.parametrize("code, path", [(404, "/no-such-page/"), (403, "/reports/")])
def test_error_pages_are_the_sites_own_with_help(client, code, path):
    if code == 403:
        client.force_login(member())
    response = client.get(path)
    assert response.status_code == code
    assert HELP_FIRST.search(response.content.decode())


# --- Pages that say who we are


def test_trust_pages_answer_what_a_member_would_ask(client):
    privacy = client.get("/privacy/").content.decode()
    for words in ("what we keep", "who sees it", "how long", "a copy"):
        assert words in privacy.lower(), words
    assert "@" in client.get("/contact/").content.decode()  # an address to write to
    assert client.get("/about/").status_code == client.get("/terms/").status_code == 200


def test_a_groups_page_shows_the_therapists_license_state_and_number(client):
    therapist = licensed_therapist("NY", "NJ")
    group = GroupFactory(therapist=therapist)
    page = client.get(f"/groups/{group.slug}/").content.decode()
    for lic in therapist.licenses.all():
        assert lic.number in page
    assert "New York" in page and "New Jersey" in page


# --- Forms that keep you on the form


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


def test_the_sign_in_page_says_why_it_was_asked(client, therapy):
    page = client.get(f"/accounts/login/?next=/groups/{therapy.slug}/reserve/").content.decode()
    assert "Remember Me:" not in page  # allauth's stock layout is gone
    assert "to reserve a seat" in page.lower()


# --- The group agreement: read, accepted by version, shown on the roster


def test_the_accepted_agreement_version_is_stored_and_shown_on_the_roster(client, therapy):
    current = GroupAgreement.objects.order_by("-version").first()
    alex = member()
    client.force_login(alex)
    form = client.get(f"/groups/{therapy.slug}/reserve/").content.decode()
    assert f'name="agreement_version" value="{current.version}"' in form
    client.post(f"/groups/{therapy.slug}/reserve/", {**ATTEST_FORM, "agreement_version": current.version})
    reservation = Reservation.objects.get(member=alex)
    assert reservation.agreement == current
    reservation_confirm(reservation=reservation, actor=alex)

    therapist_user = User.objects.create_user("t@example.test", "pw-t-123456789")
    therapy.therapist.user = therapist_user
    therapy.therapist.save()
    role_grant(therapist_user, THERAPIST)
    staff = Client()
    sign_in(staff, therapist_user)
    roster = staff.get(f"/admin/groups/group/{therapy.pk}/roster/").content.decode()
    assert '<th title="The group agreement version the member accepted">Agreement</th>' in roster
    assert f"<td>v{current.version}</td>" in roster


def test_a_new_version_published_mid_form_asks_to_read_it_again(client, therapy):
    old = GroupAgreement.objects.order_by("-version").first()
    client.force_login(member())
    GroupAgreement.objects.create(version=old.version + 1, body="New text.", body_es="Texto nuevo.")
    response = client.post(
        f"/groups/{therapy.slug}/reserve/", {**ATTEST_FORM, "agreement_version": old.version}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "agreement was just updated" in page and "New text." in page
    assert not Reservation.objects.exists()
    # Read and accepted again, the form now carries the new version and goes through.
    assert f'name="agreement_version" value="{old.version + 1}"' in page
    assert 'name="accept_agreement" id="id_accept_agreement" required checked' not in page  # unticked
    again = client.post(
        f"/groups/{therapy.slug}/reserve/", {**ATTEST_FORM, "agreement_version": old.version + 1}
    )
    assert again.status_code == 302
    assert Reservation.objects.get().agreement.version == old.version + 1


def test_the_agreement_page_shows_each_version_in_the_members_language(client):
    current = GroupAgreement.objects.order_by("-version").first()
    english = client.get("/agreement/").content.decode()
    assert "988" in english and f"version {current.version}" in english.lower()
    spanish = client.get("/agreement/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "Le damos la bienvenida" in spanish
    assert client.get(f"/agreement/v{current.version}/").status_code == 200
    assert client.get("/agreement/v999/").status_code == 404


# --- Time: one zone a page, stated; filters and printed dates agree


def test_a_visitors_browser_zone_is_used_and_stated(client):
    GroupFactory()
    client.cookies["tz"] = "America/Los_Angeles"
    page = client.get("/").content.decode()
    assert "Times are shown in Pacific time" in page
    assert 'data-zone="America/Los_Angeles" data-zone-source="browser"' in page
    client.cookies["tz"] = "Not/AZone"
    guessed = client.get("/").content.decode()
    assert 'data-zone-source="guess"' in guessed  # the page's script will put the browser's zone in


def test_a_members_own_zone_wins_over_the_browser(client):
    client.force_login(member(state="TX", time_zone="America/Chicago"))
    client.cookies["tz"] = "America/Los_Angeles"
    assert "Central time" in client.get("/").content.decode()


def test_the_day_filter_and_the_printed_dates_agree_in_any_zone(client):
    # Tuesdays 10 pm in New York are Wednesdays 3 am in UTC.
    with time_machine.travel(dt.datetime(2027, 1, 4, 12, tzinfo=dt.UTC), tick=False):
        GroupFactory(
            title="Late Tuesday", weekday=1, start_time=dt.time(22, 0), starts_on=dt.date(2027, 1, 5)
        )
        tuesday_utc = client.get("/?tz=UTC&weekday=1").content.decode()
        wednesday_utc = client.get("/?tz=UTC&weekday=2").content.decode()
        tuesday_ny = client.get("/?tz=America/New_York&weekday=1").content.decode()
    assert "Late Tuesday" not in tuesday_utc
    assert "Late Tuesday" in wednesday_utc and "Wed Jan 6, 3:00 AM" in wednesday_utc
    assert "Late Tuesday" in tuesday_ny and "Tue Jan 5, 10:00 PM" in tuesday_ny


def test_a_member_abroad_may_pick_any_zone(client):
    alex = member()
    client.force_login(alex)
    client.post(
        "/account/profile/",
        {"first_name": "A", "last_name": "B", "state": "NY", "time_zone": "Europe/Madrid", "language": "en"},
    )
    assert User.objects.get(pk=alex.pk).time_zone == "Europe/Madrid"
    api = APIClient()
    api.force_authenticate(alex)
    assert api.patch("/api/me/", {"time_zone": "Asia/Tokyo"}, format="json").status_code == 200
    bad = api.patch("/api/me/", {"time_zone": "Mars/Olympus_Mons"}, format="json")
    assert bad.status_code == 400 and "time_zone" in bad.json()["errors"]


def test_countdowns_say_how_long_and_until_when_in_plain_words():
    now = dt.datetime(2026, 11, 24, 15, 34, tzinfo=dt.UTC)  # 10:34 AM in New York
    tomorrow = now + dt.timedelta(hours=23, minutes=59, seconds=30)
    assert time_left_text(tomorrow, now, "America/New_York") == "23 h 59 min left (until tomorrow, 10:33 AM)"
    soon = now + dt.timedelta(minutes=29, seconds=10)
    assert time_left_text(soon, now, "America/New_York") == "29 minutes left (until today, 11:03 AM)"
    assert time_left_text(now, now, "America/New_York") == "time is up"


def test_an_offer_shows_its_countdown_on_the_members_clock(client, therapy):
    alex = member(state="NY", time_zone="America/New_York")
    held = reservation_hold(member=alex, group=therapy, attestations=ALL_TRUE)
    client.force_login(alex)
    page = client.get(f"/reservations/{held.pk}/").content.decode()
    assert re.search(r"\d+ minutes left \(until (today|tomorrow), \d{1,2}:\d{2} (AM|PM)\)", page)
    assert "min 59 s left" not in page


def test_a_card_names_the_day_on_the_pages_clock(client):
    with time_machine.travel(dt.datetime(2027, 1, 4, 12, tzinfo=dt.UTC), tick=False):
        GroupFactory(
            title="Late Tuesday", weekday=1, start_time=dt.time(22, 0), starts_on=dt.date(2027, 1, 5)
        )
        utc = client.get("/?tz=UTC").content.decode()
        new_york = client.get("/?tz=America/New_York").content.decode()
    assert "Wednesdays, 8 weeks" in utc and "Tuesdays" not in utc
    assert "Tuesdays, 8 weeks" in new_york


def test_skills_groups_are_offered_once_to_an_ineligible_member(client, therapy, skills):
    client.force_login(member(state="CA"))
    page = client.get(f"/groups/{therapy.slug}/").content.decode()
    assert page.count(f'href="/groups/{skills.slug}/"') == 1


def test_browsers_asking_for_favicon_ico_get_the_icon(client):
    answer = client.get("/favicon.ico")
    assert answer.status_code == 302 and answer.url.endswith("favicon.ico")
    from django.contrib.staticfiles import finders

    assert finders.find("favicon.ico")


def test_the_residence_statement_names_the_state(client, therapy):
    client.force_login(member(state="NY"))
    assert (
        "I live in New York, the state on my profile."
        in client.get(f"/groups/{therapy.slug}/reserve/").content.decode()
    )
