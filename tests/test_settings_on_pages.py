"""Pages say what the settings mean now: the service states by name from SERVICE_STATES, the
hold's length from RESERVATION_HOLD_MINUTES and the payment service's own minimum, in both
languages. A page that restated a setting's old value would tell a member something false."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import translation

from enrollment.models import Reservation
from groups.eligibility import REASON_TEXT, Reason
from tests.factories import ATTEST_FORM, GroupFactory, licensed_therapist, member

pytestmark = [pytest.mark.django_db]


@pytest.fixture
def four_states(settings):
    settings.SERVICE_STATES = ("FL", "NY", "NJ", "CA")


@pytest.mark.sqlite
def test_a_texan_is_told_the_states_the_clinic_serves_now(client, four_states):
    group = GroupFactory(therapist=licensed_therapist("NY", "CA"))
    client.force_login(member(state="TX"))
    page = client.get(f"/groups/{group.slug}/reserve/").content.decode()
    assert "Florida, New York, New Jersey and California" in page
    assert "Florida, New York and New Jersey." not in page
    with translation.override("es"):
        assert "Florida, Nueva York, Nueva Jersey y California" in str(REASON_TEXT[Reason.NOT_SERVICE_STATE])
        assert "Florida, Nueva York, Nueva Jersey y California" in str(REASON_TEXT[Reason.OUTSIDE_US])


@pytest.mark.sqlite
@pytest.mark.parametrize(
    ("language", "about", "terms"),
    [
        (
            "en",
            "residents of Florida, New York, New Jersey and California,",
            "(Florida, New York, New Jersey and California)",
        ),
        (
            "es",
            "residentes de Florida, Nueva York, Nueva Jersey y California,",
            "(Florida, Nueva York, Nueva Jersey y California)",
        ),
    ],
)
def test_the_about_and_terms_pages_name_the_service_states(client, four_states, language, about, terms):
    client.cookies["django_language"] = language
    assert about in client.get("/about/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert terms in client.get("/terms/", HTTP_ACCEPT_LANGUAGE=language).content.decode()


@pytest.mark.sqlite
def test_the_skills_pointer_on_a_group_page_names_the_service_states(client, four_states):
    from groups.models import Group

    group = GroupFactory(therapist=licensed_therapist("NY"))
    GroupFactory(kind=Group.Kind.SKILLS, therapist=licensed_therapist("NY"))
    page = client.get(f"/groups/{group.slug}/").content.decode()
    assert "Not in Florida, New York, New Jersey or California?" in page


def reserve_page_and_hold(client, group, who):
    client.force_login(who)
    page = client.get(f"/groups/{group.slug}/reserve/").content.decode()
    client.post(f"/groups/{group.slug}/reserve/", ATTEST_FORM)
    hold = Reservation.objects.get(member=who, group=group)
    return page, hold.expires_at - hold.created_at


@pytest.mark.sqlite
def test_the_reserve_page_says_the_hold_the_setting_gives(client, settings):
    settings.RESERVATION_HOLD_MINUTES = 45
    group = GroupFactory(price=Decimal("100"), therapist=licensed_therapist("NY"))
    page, held_for = reserve_page_and_hold(client, group, member(state="NY"))
    assert "We hold your seat for 45 minutes while you pay." in page
    assert held_for == dt.timedelta(minutes=45)


def test_with_stripe_the_page_says_the_31_minutes_stripe_needs_and_the_hold_is_that(
    client, settings, stripe_fake
):
    assert settings.RESERVATION_HOLD_MINUTES == 30
    group = GroupFactory(price=Decimal("100"), therapist=licensed_therapist("NY"))
    page, held_for = reserve_page_and_hold(client, group, member(state="NY"))
    assert "We hold your seat for 31 minutes while you pay." in page
    # Held 31 minutes, then the checkout page (opened a moment later) keeps it 31 from then.
    assert dt.timedelta(minutes=31) <= held_for < dt.timedelta(minutes=31, seconds=5)
