"""A broker outage: every committed change answers success, and nothing is lost or doubled.

Celery is pointed at a Redis nobody listens on (a closed port), exactly as when the broker
is down: every publish fails. Requests go through the real URL routing and commit for real
(``transaction=True``), so the code that runs after each commit runs too. Then the broker
"returns" and the sweeper runs: each email and each refund request must happen exactly once.
"""

import datetime as dt
import json
import socket
import time
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone
from rest_framework.test import APIClient

from billing.models import Payment, Refund
from config.celery import app
from enrollment.models import Reservation
from grouport.models import OutboxMessage
from grouport.outbox import outbox_sweep
from tests.factories import ATTEST_JSON, GroupFactory, licensed_therapist, member
from tests.fake_stripe import sign

pytestmark = [pytest.mark.sqlite, pytest.mark.django_db(transaction=True)]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the block ends: nothing listens there


def reset_producers() -> None:
    # Celery caches its connection pools per broker URL; drop them so the next publish
    # connects to the URL now configured.
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def broker_down():
    saved = app.conf.broker_url, app.conf.task_always_eager
    app.conf.broker_url = f"redis://127.0.0.1:{closed_port()}/0"
    app.conf.task_always_eager = False
    reset_producers()
    yield
    app.conf.broker_url, app.conf.task_always_eager = saved
    reset_producers()


def broker_back() -> None:
    """The broker returns: tasks run (inline, as the worker would)."""
    app.conf.task_always_eager = True


def api_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def webhook(client, event: dict):
    payload = json.dumps(event).encode()
    return client.post(
        "/billing/stripe/webhook/",
        data=payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign(payload),
    )


def timed(call):
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def test_reserve_pay_and_cancel_succeed_while_the_broker_is_down_and_nothing_is_lost(
    broker_down, stripe_fake, client
):
    soon = timezone.localdate() + dt.timedelta(days=10)
    free = GroupFactory(price=Decimal("0"), therapist=licensed_therapist("NY"))
    paid = GroupFactory(
        price=Decimal("320.00"), therapist=licensed_therapist("NY"), starts_on=soon, weekday=soon.weekday()
    )
    ana, ben = member(), member()

    # 1. A free seat: confirmed at once, its email waiting in the outbox.
    response, took_reserve = timed(
        lambda: api_for(ana).post(f"/api/groups/{free.pk}/reservations/", ATTEST_JSON, format="json")
    )
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "confirmed"

    # 2. A paid seat: held, paid on (fake) Stripe, confirmed by the signed webhook.
    response = api_for(ben).post(f"/api/groups/{paid.pk}/reservations/", ATTEST_JSON, format="json")
    assert response.status_code == 201, response.content
    held = Reservation.objects.get(pk=response.json()["id"])
    payment = held.payments.get()
    event = stripe_fake.event("checkout.session.completed", stripe_fake.pay(payment.checkout_session_id))
    response, took_webhook = timed(lambda: webhook(client, event))
    assert response.status_code == 200, response.content
    assert Reservation.objects.get(pk=held.pk).status == Reservation.Status.CONFIRMED
    # Stripe's retry of the same event is a duplicate, and changes nothing.
    assert webhook(client, event).json() == {"received": True, "duplicate": True}

    # 3. Cancelled ten days ahead: a full refund is due.
    response, took_cancel = timed(lambda: api_for(ben).post(f"/api/reservations/{held.pk}/cancel/"))
    assert response.status_code == 200, response.content
    refund = Refund.objects.get()
    assert refund.status == Refund.Status.PENDING and refund.amount == Decimal("320.00")
    assert Payment.objects.get(pk=payment.pk).amount_refunded == Decimal("320.00")

    # Nothing went out, and nothing is lost: every effect is a pending row.
    assert mail.outbox == [] and stripe_fake.refunds == {}
    pending = set(OutboxMessage.objects.filter(status="pending").values_list("kind", flat=True))
    assert pending == {"enrollment.reservation_email", "billing.refund_send"}
    assert OutboxMessage.objects.filter(kind="enrollment.reservation_email").count() == 3
    print(f"broker down: reserve {took_reserve:.2f}s, webhook {took_webhook:.2f}s, cancel {took_cancel:.2f}s")

    # The broker comes back; the sweeper runs (twice, as beat would).
    broker_back()
    later = timezone.now() + dt.timedelta(minutes=1)
    outbox_sweep(now=later)
    outbox_sweep(now=later + dt.timedelta(minutes=1))

    subjects = sorted(m.subject for m in mail.outbox)
    assert subjects == [
        "Refund of $320.00",
        "Your reservation is cancelled",
        "Your seat is confirmed",
        "Your seat is confirmed",
    ], subjects
    assert {m.to[0] for m in mail.outbox if "confirmed" in m.subject} == {ana.email, ben.email}
    assert stripe_fake.keys("/v1/refunds") == [f"cancel-{held.pk}-{payment.pk}"]
    assert len(stripe_fake.refunds) == 1
    assert Refund.objects.get().status == Refund.Status.SUCCEEDED
    assert not OutboxMessage.objects.exclude(status="done").exists()


def test_a_publish_that_fails_is_logged_and_the_message_stays_due(broker_down, caplog):
    from django.db import transaction

    from grouport.outbox import outbox_add

    with transaction.atomic():
        message = outbox_add(kind="enrollment.waitlist_offer", payload={"entry": 0})
    assert "not queued" in caplog.text
    message.refresh_from_db()
    assert message.status == OutboxMessage.Status.PENDING and message.attempts == 0
