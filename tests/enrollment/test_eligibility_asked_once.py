"""Eligibility is asked once per request: the rule is one function, and each step of a paid
reservation asks it once, not again in each layer it passes through (it reads the
therapist's licenses each time, and answers that could differ within one request are worse
than one answer)."""

import datetime as dt
from decimal import Decimal

import pytest

import groups.selectors
from enrollment.models import Reservation
from tests.factories import ATTEST_FORM, GroupFactory, licensed_therapist, member

pytestmark = pytest.mark.django_db


@pytest.fixture
def asked(monkeypatch):
    """How many times the eligibility rule was asked."""
    calls = []
    original = groups.selectors.group_decision

    def counted(**kwargs):
        calls.append(kwargs["state"])
        return original(**kwargs)

    monkeypatch.setattr(groups.selectors, "group_decision", counted)
    return calls


@pytest.fixture
def paid_group():
    return GroupFactory(
        price=Decimal("320.00"), therapist=licensed_therapist("NY"), start_time=dt.time(19, 0)
    )


def reserve(client, group, who):
    client.force_login(who)
    response = client.post(f"/groups/{group.slug}/reserve/", ATTEST_FORM)
    assert response.status_code == 302, response.content[:500]
    return Reservation.objects.get(member=who, group=group), response


@pytest.mark.sqlite
def test_a_paid_reservation_offline_asks_once_at_each_moment(client, paid_group, asked):
    who = member(state="NY")
    reservation, response = reserve(client, paid_group, who)
    assert len(asked) == 1, "holding the seat"
    asked.clear()
    assert client.get(response.url).status_code == 200  # the test-mode pay page
    assert len(asked) == 1, "opening the pay page"
    asked.clear()
    client.post(response.url)
    # Before the (test-mode) money is taken, and when it arrives, under the member's lock:
    # two moments, as a Stripe payment has (the pay page, then its webhook).
    assert len(asked) == 2, "paying"
    reservation.refresh_from_db()
    assert reservation.status == "confirmed"


def test_a_paid_reservation_through_stripe_asks_once_at_each_step(client, paid_group, asked, stripe_fake):
    who = member(state="NY")
    _reservation, response = reserve(client, paid_group, who)
    assert response.url.startswith(stripe_fake.url)
    assert len(asked) == 1, "holding the seat and opening Stripe's page"
    asked.clear()
    pay = client.get(f"/reservations/{_reservation.pk}/pay/")
    assert pay.status_code == 302 and pay.url.startswith(stripe_fake.url)
    assert len(asked) == 1, "the pay link, sent on to Stripe's page"


@pytest.mark.sqlite
def test_the_reservation_page_asks_once(client, paid_group, asked):
    who = member(state="NY")
    reservation, _response = reserve(client, paid_group, who)
    asked.clear()
    page = client.get(f"/reservations/{reservation.pk}/")
    assert page.status_code == 200
    assert len(asked) == 1
