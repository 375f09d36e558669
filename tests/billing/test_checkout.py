"""Paying through Stripe Checkout: the real stripe library against the fake server."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.models import Payment
from billing.services import stripe_checkout_start
from enrollment.models import Reservation
from enrollment.services.reservations import reservation_hold, reservation_start
from groups.models import Group
from tests.enrollment.conftest import ALL_TRUE
from tests.factories import GroupFactory, licensed_therapist, member

pytestmark = pytest.mark.django_db
CLINICAL = re.compile(r"dbt|therap|borderline|bpd|mental|clinic|diagnos|disorder|psych", re.I)


@pytest.fixture
def group():
    return GroupFactory(
        title="Tuesday Evening DBT Therapy Group",
        price=Decimal("320.00"),
        therapist=licensed_therapist("NY"),
        start_time=dt.time(19, 0),
        weekday=1,
    )


def test_holding_a_paid_seat_opens_a_neutral_checkout_that_ends_with_the_hold(stripe_fake, group):
    alex = member()
    reservation, action = reservation_start(member=alex, group=group, attestations=ALL_TRUE)
    payment = Payment.objects.get(reservation=reservation)
    assert action.type == "pay" and action.url == f"{stripe_fake.url}/checkout/{payment.checkout_session_id}"
    [request] = [r for r in stripe_fake.requests if r.path == "/v1/checkout/sessions"]
    body = request.body
    assert body["mode"] == "payment"
    item = body["line_items"][0]
    assert item["price_data"]["unit_amount"] == "32000" and item["price_data"]["currency"] == "usd"
    assert item["price_data"]["product_data"]["name"] == "Group program, Tuesdays 7:00 PM"
    assert body["client_reference_id"] == str(reservation.pk)
    assert body["metadata"] == {"reservation_id": str(reservation.pk)}
    assert body["customer_email"] == alex.email
    reservation.refresh_from_db()
    assert int(body["expires_at"]) == int(reservation.expires_at.timestamp())
    assert reservation.expires_at - timezone.now() >= dt.timedelta(minutes=30)
    assert request.idempotency_key == f"grouport-checkout-{payment.pk}"
    assert not CLINICAL.search(request.raw), request.raw  # Stripe learns nothing clinical
    assert payment.amount == Decimal("320.00") and payment.status == Payment.Status.PENDING


def test_starting_checkout_again_reuses_the_open_session(stripe_fake, group):
    reservation = reservation_hold(member=member(), group=group, attestations=ALL_TRUE)
    first = stripe_checkout_start(reservation=reservation)
    second = stripe_checkout_start(reservation=reservation)
    assert first.pk == second.pk
    assert len([r for r in stripe_fake.requests if r.path == "/v1/checkout/sessions"]) == 1


def test_a_failed_create_is_retried_with_the_same_key(stripe_fake, group):
    stripe_fake.fail_next = [500]  # the library retries on 500 with the same idempotency key
    reservation = reservation_hold(member=member(), group=group, attestations=ALL_TRUE)
    payment = stripe_checkout_start(reservation=reservation)
    keys = stripe_fake.keys("/v1/checkout/sessions")
    assert len(keys) == 2 and len(set(keys)) == 1
    assert payment.checkout_session_id and len(stripe_fake.sessions) == 1


def test_free_groups_never_go_to_stripe(stripe_fake):
    free = GroupFactory(price=Decimal("0"), kind=Group.Kind.SKILLS)
    reservation, action = reservation_start(member=member(), group=free, attestations=ALL_TRUE)
    assert reservation.status == Reservation.Status.CONFIRMED and action.type == "confirmed"
    assert stripe_fake.requests == []


def test_pay_page_sends_the_member_to_stripe_and_the_return_page_waits_for_the_webhook(
    client, stripe_fake, group
):
    alex = member()
    client.force_login(alex)
    response = client.post(
        f"/groups/{group.slug}/reserve/",
        {"attest_residence": "on", "attest_location": "on", "accept_agreement": "on"},
    )
    reservation = Reservation.objects.get(member=alex)
    assert response.url.startswith(f"{stripe_fake.url}/checkout/cs_test_")
    assert client.get(f"/reservations/{reservation.pk}/pay/").url == response.url  # same session
    back = client.get(f"/reservations/{reservation.pk}/?checkout=success").content.decode()
    assert "Payment processing" in back and 'http-equiv="refresh"' in back
    assert (
        Reservation.objects.get(pk=reservation.pk).status == Reservation.Status.HELD
    )  # redirect proves nothing
    assert "Test mode" not in back


def test_offline_pay_is_refused_when_stripe_is_configured(client, stripe_fake, group):
    alex = member()
    client.force_login(alex)
    reservation = reservation_hold(member=alex, group=group, attestations=ALL_TRUE)
    from django.core.exceptions import PermissionDenied

    from billing.services import offline_payment_complete

    with pytest.raises(PermissionDenied):
        offline_payment_complete(reservation=reservation, member=alex)
    assert not Payment.objects.filter(status=Payment.Status.PAID).exists()


def test_giving_up_a_held_seat_closes_its_checkout_page(
    stripe_fake, group, django_capture_on_commit_callbacks
):
    from enrollment.services.reservations import reservation_cancel

    reservation = reservation_hold(member=member(), group=group, attestations=ALL_TRUE)
    payment = stripe_checkout_start(reservation=reservation)
    with django_capture_on_commit_callbacks(execute=True):
        assert reservation_cancel(reservation=reservation, actor=reservation.member).refunded == 0
    assert stripe_fake.sessions[payment.checkout_session_id]["status"] == "expired"
    assert [r.path for r in stripe_fake.requests][
        -1
    ] == f"/v1/checkout/sessions/{payment.checkout_session_id}/expire"
