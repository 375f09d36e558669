"""A disputed payment: one email to the care team, with ids and a link, naming no one."""

import json
import re
from decimal import Decimal

import pytest
from django.conf import settings
from django.core import mail
from django.template.loader import render_to_string

from billing.models import Payment, StripeEvent
from billing.services import stripe_checkout_start
from enrollment.services.reservations import reservation_hold
from grouport.models import AuditEntry, OutboxMessage
from tests.factories import ALL_TRUE, GroupFactory, licensed_therapist, member
from tests.fake_stripe import sign

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]
URL = "/billing/stripe/webhook/"
CLINICAL = re.compile(
    r"dbt|therap|borderline|bpd|depress|anxi|suicid|self-harm|mental|diagnos|disorder|psych|clinic", re.I
)


def post(client, event: dict):
    payload = json.dumps(event).encode()
    return client.post(
        URL, data=payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=sign(payload)
    )


@pytest.fixture
def paid(client, stripe_fake):
    """A member's paid seat in a therapy group, settled through Stripe's webhook."""
    alex = member(first_name="Alexandra", last_name="Quintero-Vance", email="alexandra.qv@example.test")
    group = GroupFactory(
        title="Tuesday DBT Therapy for Borderline Personality Disorder",
        price=Decimal("320.00"),
        therapist=licensed_therapist("NY"),
    )
    payment = stripe_checkout_start(
        reservation=reservation_hold(member=alex, group=group, attestations=ALL_TRUE)
    )
    session = stripe_fake.pay(payment.checkout_session_id)
    assert post(client, stripe_fake.event("checkout.session.completed", session)).status_code == 200
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PAID
    mail.outbox.clear()
    return payment


def dispute_event(stripe_fake, payment: Payment, *, dispute_id: str = "dp_test_1", event_id=None) -> dict:
    dispute = {
        "id": dispute_id,
        "object": "dispute",
        "payment_intent": payment.payment_intent_id,
        "charge": "ch_test_1",
        "reason": "fraudulent",
        "amount": 32000,
    }
    return stripe_fake.event("charge.dispute.created", dispute, event_id=event_id)


def without_the_crisis_line(body: str) -> str:
    """The body minus the crisis line every email carries (it is about no one)."""
    for template in ("emails/crisis_top.txt", "emails/crisis.txt"):
        line = render_to_string(template, {"site_url": settings.SITE_URL}).strip()
        assert line in body  # the footer is there, so removing it hides nothing else
        body = body.replace(line, "")
    return body


def test_a_dispute_sends_the_care_team_one_email_with_ids_and_a_link_only(
    client, stripe_fake, paid, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, dispute_event(stripe_fake, paid))
    assert response.json() == {"received": True, "duplicate": False}
    [email] = mail.outbox
    assert email.to == [settings.CARE_TEAM_EMAIL]
    assert email.subject == "A payment needs your review"
    assert f"{settings.SITE_URL}/admin/billing/payment/{paid.pk}/change/" in email.body
    assert f"Payment #{paid.pk}" in email.body
    reservation = paid.reservation
    alex, group = reservation.member, reservation.group
    for text in (email.subject, email.body, *(content for content, _type in email.alternatives)):
        for private in (
            alex.email,
            alex.first_name,
            alex.last_name,
            group.title,
            group.therapist.display_name,
        ):
            assert private not in text
        assert "dp_test_1" not in text and paid.payment_intent_id not in text  # Stripe's ids stay at Stripe
    assert not CLINICAL.search(email.subject)
    assert not CLINICAL.search(without_the_crisis_line(email.body))
    [row] = OutboxMessage.objects.filter(kind="billing.dispute_alert")
    assert (row.payload, row.status) == ({"payment": paid.pk}, OutboxMessage.Status.DONE)
    paid.refresh_from_db()
    assert paid.disputed


def test_a_replayed_or_repeated_dispute_sends_no_second_email(
    client, stripe_fake, paid, django_capture_on_commit_callbacks
):
    event = dispute_event(stripe_fake, paid)
    with django_capture_on_commit_callbacks(execute=True):
        post(client, event)
    assert len(mail.outbox) == 1
    with django_capture_on_commit_callbacks(execute=True):
        replay = post(client, event)  # Stripe delivers the same event again
        # A second event about the same disputed payment (Stripe re-sent it under a new id).
        again = post(client, dispute_event(stripe_fake, paid, dispute_id="dp_test_1"))
    assert replay.json() == {"received": True, "duplicate": True}
    assert again.status_code == 200
    assert len(mail.outbox) == 1
    assert OutboxMessage.objects.filter(kind="billing.dispute_alert").count() == 1
    assert AuditEntry.objects.filter(action="payment.disputed", object_id=str(paid.pk)).count() == 1
    assert StripeEvent.objects.filter(type="charge.dispute.created").count() == 2
