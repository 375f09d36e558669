"""The Stripe webhook: signed, stored once, effective once, in any order."""

import datetime as dt
import json
import threading
import time
from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone

from billing import webhooks
from billing.models import Payment, Refund, StripeEvent
from billing.services import stripe_checkout_start
from enrollment.models import Reservation
from enrollment.selectors import group_seats_taken
from enrollment.services.reservations import reservation_hold
from grouport.models import AuditEntry
from tests.factories import ALL_TRUE, GroupFactory, licensed_therapist, member
from tests.fake_stripe import WEBHOOK_SECRET, sign

URL = "/billing/stripe/webhook/"


@pytest.fixture
def group():
    return GroupFactory(capacity=2, price=Decimal("320.00"), therapist=licensed_therapist("NY"))


def checkout(group, who=None):
    reservation = reservation_hold(member=who or member(), group=group, attestations=ALL_TRUE)
    payment = stripe_checkout_start(reservation=reservation)
    return reservation, payment


def post(
    client,
    event: dict,
    *,
    secret: str = WEBHOOK_SECRET,
    timestamp: int | None = None,
    body: bytes | None = None,
):
    payload = json.dumps(event).encode()
    return client.post(
        URL,
        data=body if body is not None else payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign(payload, secret, timestamp),
    )


def state(reservation) -> tuple[str, str]:
    reservation.refresh_from_db()
    payment = reservation.payments.latest("created_at")
    return reservation.status, payment.status


@pytest.mark.django_db
@pytest.mark.parametrize(
    "how",
    ["forged", "tampered", "stale", "missing"],
)
def test_unverified_webhooks_are_400_and_write_nothing(client, stripe_fake, group, how):
    reservation, payment = checkout(group)
    event = stripe_fake.event("checkout.session.completed", stripe_fake.pay(payment.checkout_session_id))
    if how == "forged":
        response = post(client, event, secret="whsec_someone_else")
    elif how == "tampered":
        tampered = json.dumps({**event, "id": "evt_other"}).encode()
        response = post(client, event, body=tampered)
    elif how == "stale":
        response = post(client, event, timestamp=int(time.time()) - 301)
    else:
        response = client.post(URL, data=json.dumps(event), content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_signature"
    assert not StripeEvent.objects.exists()
    assert state(reservation) == ("held", "pending")


@pytest.mark.django_db
def test_webhook_needs_no_csrf_token_and_only_accepts_post(stripe_fake, group):
    from django.test import Client

    csrf_client = Client(enforce_csrf_checks=True)
    _reservation, payment = checkout(group)
    event = stripe_fake.event("checkout.session.completed", stripe_fake.pay(payment.checkout_session_id))
    assert post(csrf_client, event).status_code == 200
    assert csrf_client.get(URL).status_code == 405


@pytest.mark.django_db
def test_paid_checkout_confirms_once_however_often_it_is_delivered(
    client, stripe_fake, group, django_capture_on_commit_callbacks
):
    reservation, payment = checkout(group)
    event = stripe_fake.event("checkout.session.completed", stripe_fake.pay(payment.checkout_session_id))
    with django_capture_on_commit_callbacks(execute=True):
        first = post(client, event)
        second = post(client, event)
    assert first.json() == {"received": True, "duplicate": False}
    assert second.json() == {"received": True, "duplicate": True}
    assert state(reservation) == ("confirmed", "paid")
    assert Payment.objects.get().payment_intent_id.startswith("pi_")
    assert AuditEntry.objects.filter(action="reservation.confirmed").count() == 1
    assert [m.subject for m in mail.outbox] == ["Your seat is confirmed"]
    assert "Paid: $320.00" in mail.outbox[0].body


@pytest.mark.django_db
def test_unpaid_completion_waits_for_the_async_result(client, stripe_fake, group):
    reservation, payment = checkout(group)
    session = stripe_fake.pay(payment.checkout_session_id, payment_status="unpaid")
    assert post(client, stripe_fake.event("checkout.session.completed", session)).status_code == 200
    assert state(reservation) == ("held", "processing")
    session["payment_status"] = "paid"
    post(client, stripe_fake.event("checkout.session.async_payment_succeeded", session))
    assert state(reservation) == ("confirmed", "paid")


@pytest.mark.django_db
def test_async_failure_releases_the_hold(client, stripe_fake, group):
    reservation, payment = checkout(group)
    session = stripe_fake.pay(payment.checkout_session_id, payment_status="unpaid")
    post(client, stripe_fake.event("checkout.session.completed", session))
    post(client, stripe_fake.event("checkout.session.async_payment_failed", session))
    assert state(reservation) == ("expired", "failed")
    assert group_seats_taken(group=group) == 0


@pytest.mark.django_db
def test_expiry_releases_the_seat_once(client, stripe_fake, group):
    reservation, payment = checkout(group)
    session = stripe_fake.sessions[payment.checkout_session_id]
    session["status"] = "expired"
    for _ in range(2):  # the same event twice, then a second event for the same session
        event = stripe_fake.event("checkout.session.expired", session, event_id="evt_expired_1")
        assert post(client, event).status_code == 200
    assert post(client, stripe_fake.event("checkout.session.expired", session)).status_code == 200
    assert state(reservation) == ("expired", "expired")
    assert AuditEntry.objects.filter(action="reservation.expired", object_id=str(reservation.pk)).count() == 1
    assert group_seats_taken(group=group) == 0


@pytest.mark.django_db
def test_a_late_expiry_after_completion_never_frees_a_paid_seat(client, stripe_fake, group):
    reservation, payment = checkout(group)
    paid = stripe_fake.pay(payment.checkout_session_id)
    post(client, stripe_fake.event("checkout.session.completed", paid))
    post(client, stripe_fake.event("checkout.session.expired", {**paid, "status": "expired"}))
    assert state(reservation) == ("confirmed", "paid")
    assert group_seats_taken(group=group) == 1


@pytest.mark.django_db
def test_events_in_reverse_order_still_seat_the_payer_when_a_seat_is_free(client, stripe_fake, group):
    reservation, payment = checkout(group)
    paid = stripe_fake.pay(payment.checkout_session_id)
    post(client, stripe_fake.event("checkout.session.expired", {**paid, "status": "expired"}))
    assert state(reservation) == ("expired", "expired")
    post(client, stripe_fake.event("checkout.session.completed", paid))
    assert state(reservation) == ("confirmed", "paid")


@pytest.mark.django_db
def test_two_lapsed_holds_for_the_last_seat_both_paid_one_seated_one_refunded(
    client, stripe_fake, django_capture_on_commit_callbacks
):
    group = GroupFactory(capacity=1, price=Decimal("320.00"), therapist=licensed_therapist("NY"))
    first, first_payment = checkout(group)
    Reservation.objects.filter(pk=first.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    second, second_payment = checkout(group)  # the seat was free again: a second hold
    Reservation.objects.filter(pk=second.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        for payment in (first_payment, second_payment):
            post(
                client,
                stripe_fake.event("checkout.session.completed", stripe_fake.pay(payment.checkout_session_id)),
            )
    assert state(first) == ("confirmed", "paid")
    assert state(second) == ("expired", "paid")
    refund = Refund.objects.get()
    assert (refund.payment_id, refund.amount, refund.status) == (
        second_payment.pk,
        Decimal("320.00"),
        "succeeded",
    )
    [request] = [r for r in stripe_fake.requests if r.path == "/v1/refunds"]
    assert request.body["amount"] == "32000" and request.body["payment_intent"].startswith("pi_")
    assert request.idempotency_key == refund.key
    subjects = [m.subject for m in mail.outbox if m.to == [second.member.email]]
    assert subjects == [
        "We couldn't keep your seat (full refund)",
        "Refund of $320.00",
    ]
    assert "waitlist" in mail.outbox[[m.subject for m in mail.outbox].index(subjects[0])].body
    assert group_seats_taken(group=group) == 1


@pytest.mark.django_db
def test_a_failing_handler_rolls_back_and_answers_500_so_stripe_retries(
    client, stripe_fake, group, monkeypatch
):
    reservation, payment = checkout(group)
    event = stripe_fake.event("checkout.session.completed", stripe_fake.pay(payment.checkout_session_id))

    def broken(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(webhooks, "payment_settle", broken)
    assert post(client, event).status_code == 500
    assert not StripeEvent.objects.exists()
    assert state(reservation) == ("held", "pending")
    monkeypatch.undo()
    assert post(client, event).json() == {"received": True, "duplicate": False}
    assert state(reservation) == ("confirmed", "paid")


@pytest.mark.django_db
def test_unknown_and_foreign_events_are_acknowledged_and_ignored(client, stripe_fake):
    assert post(client, stripe_fake.event("customer.created", {"id": "cus_1"})).status_code == 200
    foreign = {"id": "cs_other", "object": "checkout.session", "payment_status": "paid", "metadata": {}}
    assert post(client, stripe_fake.event("checkout.session.completed", foreign)).status_code == 200
    assert StripeEvent.objects.count() == 2


@pytest.mark.django_db
def test_charge_refunded_records_the_refund_and_disputes_are_flagged(client, stripe_fake, group):
    reservation, payment = checkout(group)
    paid = stripe_fake.pay(payment.checkout_session_id)
    post(client, stripe_fake.event("checkout.session.completed", paid))
    charge = {
        "id": "ch_1",
        "object": "charge",
        "payment_intent": paid["payment_intent"],
        "amount": 32000,
        "amount_refunded": 10000,
        "refunds": {"data": [{"id": "re_dash_1", "amount": 10000, "status": "succeeded", "metadata": {}}]},
    }
    post(client, stripe_fake.event("charge.refunded", charge))
    post(client, stripe_fake.event("charge.refunded", {**charge, "refunds": {"data": []}}))  # a re-send
    payment.refresh_from_db()
    assert payment.amount_refunded == Decimal("100.00")
    assert list(Refund.objects.values_list("stripe_refund_id", "amount")) == [
        ("re_dash_1", Decimal("100.00"))
    ]
    assert reservation.payments.get().status == "paid"
    dispute = {"id": "dp_1", "object": "dispute", "payment_intent": paid["payment_intent"], "charge": "ch_1"}
    post(client, stripe_fake.event("charge.dispute.created", dispute))
    payment.refresh_from_db()
    assert payment.disputed
    assert AuditEntry.objects.filter(action="payment.disputed").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_same_event_from_two_threads_at_once_confirms_once(stripe_fake, group):
    _reservation, payment = checkout(group)
    event = stripe_fake.event("checkout.session.completed", stripe_fake.pay(payment.checkout_session_id))
    barrier = threading.Barrier(2)
    results: list = []

    def deliver() -> None:
        try:
            barrier.wait()
            results.append(webhooks.stripe_event_process(event=event))
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sorted(results) == [False, True]
    assert StripeEvent.objects.count() == 1
    assert AuditEntry.objects.filter(action="reservation.confirmed").count() == 1
    assert [m.subject for m in mail.outbox].count("Your seat is confirmed") == 1
