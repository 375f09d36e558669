"""Paying through Stripe Checkout: the real stripe library against the fake server, and what a
member sees when Stripe cannot be reached (the seat stays held)."""

import datetime as dt
import re
import time
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from billing.models import Payment
from billing.services import stripe_checkout_start
from enrollment.models import Reservation
from enrollment.ports import PaymentUnavailable
from enrollment.services.reservations import reservation_hold, reservation_start
from groups.models import Group
from tests.factories import ALL_TRUE, ATTEST_FORM, GroupFactory, free_port, licensed_therapist, member

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
    # Ids only: the reservation, and this attempt (so a page whose answer was lost is found).
    assert body["metadata"] == {"reservation_id": str(reservation.pk), "payment_id": str(payment.pk)}
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


def _creates(fake) -> list:
    return [r for r in fake.requests if r.path == "/v1/checkout/sessions"]


def test_after_a_lost_answer_the_same_request_goes_again_and_makes_one_page(stripe_fake, group):
    """Stripe made the page, but both answers (the library retries once) were lost."""
    stripe_fake.lose_next = 2
    reservation = reservation_hold(member=member(), group=group, attestations=ALL_TRUE)
    with pytest.raises(PaymentUnavailable):
        stripe_checkout_start(reservation=reservation)
    attempt = Payment.objects.get(reservation=reservation)
    assert attempt.last_error == "no answer" and attempt.checkout_url == ""
    payment = stripe_checkout_start(reservation=reservation)  # "Try again"
    assert payment.pk == attempt.pk and payment.checkout_url
    creates = _creates(stripe_fake)
    assert len(creates) == 3 and {r.idempotency_key for r in creates} == {attempt.idempotency_key}
    assert len({r.raw for r in creates}) == 1  # exactly the same parameters every time
    assert len(stripe_fake.sessions) == 1


def test_after_an_answer_stripe_keeps_a_new_attempt_opens_the_page(stripe_fake, group):
    """A 500 is saved for its key and replayed to every retry: the same key can never succeed."""
    stripe_fake.fail_next = [500]
    reservation = reservation_hold(member=member(), group=group, attestations=ALL_TRUE)
    with pytest.raises(PaymentUnavailable):
        stripe_checkout_start(reservation=reservation)
    first = Payment.objects.get(reservation=reservation)
    assert first.last_error == "answered 500"
    assert [r.idempotency_key for r in _creates(stripe_fake)] == [first.idempotency_key] * 2  # replayed
    payment = stripe_checkout_start(reservation=reservation)  # "Try again" works at once
    assert payment.pk != first.pk and payment.checkout_url
    assert payment.idempotency_key != first.idempotency_key
    first.refresh_from_db()
    assert first.status == Payment.Status.FAILED  # replaced: a member is never sent to two pages
    assert len(stripe_fake.sessions) == 1
    assert Payment.objects.filter(reservation=reservation, status=Payment.Status.PENDING).count() == 1


def test_a_lost_attempt_too_old_to_resend_is_replaced(stripe_fake, group):
    stripe_fake.lose_next = 2
    reservation = reservation_hold(member=member(), group=group, attestations=ALL_TRUE)
    with pytest.raises(PaymentUnavailable):
        stripe_checkout_start(reservation=reservation)
    first = Payment.objects.get(reservation=reservation)
    # Two minutes later Stripe would refuse the stored expiry (under 30 minutes ahead), and
    # the same key with a new expiry is refused too: a new attempt, with a new key.
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=2)):
        payment = stripe_checkout_start(reservation=reservation)
    assert payment.pk != first.pk and payment.checkout_url
    keys = [r.idempotency_key for r in _creates(stripe_fake)]
    assert keys == [first.idempotency_key] * 2 + [payment.idempotency_key]


def test_the_fake_refuses_a_key_reused_with_other_parameters(stripe_fake, group):
    """The rule the old "Try again" broke: one key, one set of parameters."""
    import stripe

    from billing import gateway

    reservation = reservation_hold(member=member(), group=group, attestations=ALL_TRUE)
    params = gateway.checkout_params(
        reservation=reservation,
        attempt_id=1,
        amount=Decimal("1"),
        expires_at=timezone.now() + dt.timedelta(hours=1),
    )
    gateway.checkout_session_create(params=params, key="k")
    with pytest.raises(stripe.IdempotencyError, match="same parameters"):
        gateway.checkout_session_create(params={**params, "expires_at": params["expires_at"] + 60}, key="k")


def test_a_stalled_stripe_answers_the_sites_own_page_in_seconds(client, stripe_fake, group, settings):
    settings.STRIPE_READ_TIMEOUT = 0.3
    stripe_fake.stall_seconds, stripe_fake.stall_next = 3, -1
    alex = member()
    client.force_login(alex)
    started = time.monotonic()
    response = client.post(f"/groups/{group.slug}/reserve/", ATTEST_FORM)
    reservation = Reservation.objects.get(member=alex)
    asked = len(stripe_fake.requests)
    page = client.get(response.url)
    took = time.monotonic() - started
    assert page.status_code == 503 and took < 6, took
    assert len(stripe_fake.requests) == asked  # the member waited once, not twice
    text = page.content.decode()
    assert "988" in text and "Try again" in text and "still held" in text
    stripe_fake.stall_next = 0
    again = client.get(f"/reservations/{reservation.pk}/pay/")
    assert again.status_code == 302 and again.url.startswith(f"{stripe_fake.url}/checkout/")
    assert Payment.objects.filter(reservation=reservation, status=Payment.Status.PENDING).count() == 1


def test_the_stripe_client_gives_up_well_inside_a_web_request(settings):
    import runpy
    from pathlib import Path

    from billing.gateway import stripe_client, stripe_worst_case_seconds

    gunicorn = runpy.run_path(str(Path(__file__).resolve().parents[2] / "config" / "gunicorn.conf.py"))
    http = stripe_client()._requestor._client
    assert http._timeout == (settings.STRIPE_CONNECT_TIMEOUT, settings.STRIPE_READ_TIMEOUT)
    # The defaults: two tries of 2 s + 6 s and a second's backoff, against gunicorn's 30 s.
    assert stripe_worst_case_seconds() <= gunicorn["timeout"] * 0.6


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


def test_a_page_whose_answer_was_lost_is_found_by_its_attempt_when_stripe_reports_it(stripe_fake, group):
    from billing.webhooks import stripe_event_process

    stripe_fake.lose_next = 2
    reservation = reservation_hold(member=member(), group=group, attestations=ALL_TRUE)
    with pytest.raises(PaymentUnavailable):
        stripe_checkout_start(reservation=reservation)
    attempt = Payment.objects.get(reservation=reservation)
    assert attempt.checkout_session_id is None
    [session] = stripe_fake.sessions.values()  # Stripe made it all the same
    paid = stripe_fake.pay(session["id"])
    stripe_event_process(event=stripe_fake.event("checkout.session.completed", paid))
    attempt.refresh_from_db()
    reservation.refresh_from_db()
    assert attempt.checkout_session_id == session["id"] and attempt.status == Payment.Status.PAID
    assert reservation.status == Reservation.Status.CONFIRMED


@pytest.mark.sqlite
def test_when_stripe_cannot_be_reached_the_seat_stays_held_and_the_pay_page_says_so(
    client, stripe_fake, settings
):
    group = GroupFactory(price=Decimal("320.00"), therapist=licensed_therapist("NY"))
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    alex = member()
    client.force_login(alex)
    response = client.post(f"/groups/{group.slug}/reserve/", ATTEST_FORM)
    reservation = Reservation.objects.get(member=alex)
    # Straight to the page that says so (not a second wait on the payment service).
    assert (
        response.status_code == 302 and response.url == f"/reservations/{reservation.pk}/pay/?unavailable=1"
    )
    assert reservation.status == Reservation.Status.HELD
    page = client.get(response.url)
    assert page.status_code == 503
    assert "still held" in page.content.decode() and "Try again" in page.content.decode()
    # Back online: the same attempt opens its page (one payment, one idempotency key).
    settings.STRIPE_API_BASE = stripe_fake.url
    again = client.get(f"/reservations/{reservation.pk}/pay/")
    assert again.status_code == 302 and again.url.startswith(f"{stripe_fake.url}/checkout/")
    assert Payment.objects.filter(reservation=reservation).count() == 1
