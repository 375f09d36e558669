"""Every field of every event we handle, sent with the wrong type: a 400 kept for staff, never
a 500 (Stripe would retry a 500 for days, and it could never succeed)."""

import json
from decimal import Decimal

import pytest

from billing.models import Payment, WebhookRejection
from billing.services import stripe_checkout_start
from billing.webhooks import HANDLERS
from enrollment.services.reservations import reservation_hold
from tests.factories import ALL_TRUE, GroupFactory, licensed_therapist, member
from tests.fake_stripe import sign

pytestmark = pytest.mark.django_db
URL = "/billing/stripe/webhook/"
WRONG = [5, 1.5, True, "text", [], {}, ["a"], {"a": 1}]


def _paths(node, prefix=()):
    """Every (path, value) in a JSON object, nested ones included."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*prefix, key), value
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield (*prefix, index), value
            yield from _paths(value, (*prefix, index))


def _replaced(node, path, value):
    copy = json.loads(json.dumps(node))
    target = copy
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return copy


def _same_type(a, b) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool)
    return type(a) is type(b)


@pytest.fixture
def objects(stripe_fake):
    """A real-looking object for each event type we handle, naming one of our payments."""
    group = GroupFactory(price=Decimal("320.00"), therapist=licensed_therapist("NY"))
    reservation = reservation_hold(member=member(), group=group, attestations=ALL_TRUE)
    payment = stripe_checkout_start(reservation=reservation)
    session = stripe_fake.pay(payment.checkout_session_id)
    Payment.objects.filter(pk=payment.pk).update(payment_intent_id=session["payment_intent"])
    refund = {
        "id": "re_1",
        "object": "refund",
        "amount": 1000,
        "payment_intent": session["payment_intent"],
        "status": "succeeded",
        "failure_reason": None,
        "metadata": {"refund_id": "1"},
    }
    charge = {
        "id": "ch_1",
        "object": "charge",
        "payment_intent": session["payment_intent"],
        "amount_refunded": 1000,
        "refunds": {"object": "list", "data": [refund]},
    }
    dispute = {"id": "dp_1", "object": "dispute", "payment_intent": session["payment_intent"]}
    by_prefix = {"checkout.session.": session, "charge.refunded": charge, "charge.dispute": dispute}
    return {
        kind: next((obj for prefix, obj in by_prefix.items() if kind.startswith(prefix)), refund)
        for kind in HANDLERS
    }


def test_every_field_of_every_handled_event_with_a_wrong_type_is_a_400_never_a_500(
    client, stripe_fake, objects
):
    tried = 0
    for kind, obj in objects.items():
        for path, original in list(_paths(obj)):
            for value in WRONG:
                if _same_type(value, original):
                    continue
                event = stripe_fake.event(kind, _replaced(obj, path, value))
                payload = json.dumps(event).encode()
                response = client.post(
                    URL, data=payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=sign(payload)
                )
                tried += 1
                where = f"{kind} {'.'.join(map(str, path))}={value!r}"
                assert response.status_code in (200, 400), (where, response.content)
                if response.status_code == 400:
                    assert response.json()["code"] == "malformed_event", where
    assert tried > 300
    assert WebhookRejection.objects.exists()
