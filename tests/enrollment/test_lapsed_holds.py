"""A hold that ran out reads "expired" the moment it lapses: never a Pay button."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from enrollment.models import Reservation
from enrollment.services.reservations import reservation_hold
from tests.factories import ALL_TRUE, GroupFactory, licensed_therapist, member

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]


@pytest.fixture
def lapsed():
    group = GroupFactory(capacity=2, price=Decimal("150"), therapist=licensed_therapist("NY"))
    alex = member()
    held = reservation_hold(member=alex, group=group, attestations=ALL_TRUE)
    return group, alex, held


def test_the_api_says_expired_and_points_to_reserving_again(lapsed):
    group, alex, held = lapsed
    api = APIClient()
    api.force_authenticate(alex)
    with time_machine.travel(held.expires_at + dt.timedelta(seconds=1), tick=False):
        body = api.get(f"/api/reservations/{held.pk}/").json()
        listed = api.get("/api/reservations/").json()["results"][0]
    assert Reservation.objects.get(pk=held.pk).status == "held"  # no job has run yet
    assert body["status"] == listed["status"] == "expired"
    assert body["next_action"] == {"type": "reserve", "url": f"/groups/{group.slug}/reserve/"}


def test_when_the_group_filled_meanwhile_the_way_forward_is_the_waitlist(lapsed):
    group, alex, held = lapsed
    for _ in range(2):
        reservation_hold(
            member=member(), group=group, attestations=ALL_TRUE, now=held.expires_at + dt.timedelta(seconds=5)
        )
    api = APIClient()
    api.force_authenticate(alex)
    with time_machine.travel(held.expires_at + dt.timedelta(seconds=10), tick=False):
        body = api.get(f"/api/reservations/{held.pk}/").json()
    assert body["status"] == "expired" and body["next_action"]["type"] == "waitlist"


def test_the_pages_show_no_pay_button_once_the_hold_lapsed(client, lapsed):
    group, alex, held = lapsed
    client.force_login(alex)
    before = client.get(f"/reservations/{held.pk}/").content.decode()
    assert "Continue to payment" in before
    with time_machine.travel(held.expires_at + dt.timedelta(seconds=1), tick=False):
        page = client.get(f"/reservations/{held.pk}/").content.decode()
        pay = client.get(f"/reservations/{held.pk}/pay/")
        reserve = client.get(f"/groups/{group.slug}/reserve/").content.decode()
        mine = client.get("/my/").content.decode()
    assert "The hold on this seat has run out" in page and "reserve it again" in page
    assert "Continue to payment" not in page and "Pay $" not in page
    assert pay.status_code == 302 and pay["Location"] == f"/reservations/{held.pk}/"
    assert "You already have" not in reserve and "Hold my seat and pay" in reserve
    assert "your seat is held" not in mine
    assert "the hold on your seat ran out" in mine and "Nothing was charged" in mine
    assert f'href="/groups/{group.slug}/reserve/">reserve it again' in mine


def test_offline_payment_for_a_lapsed_hold_is_refused(lapsed, settings):
    from billing.services import offline_payment_complete
    from enrollment.errors import HoldExpired

    _group, alex, held = lapsed
    with time_machine.travel(timezone.now() + dt.timedelta(hours=1), tick=False), pytest.raises(HoldExpired):
        offline_payment_complete(reservation=held, member=alex)
