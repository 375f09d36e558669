"""Signed webhooks we cannot use: every field of every event we handle sent with the wrong type,
and events that are not Stripe's shape at all (no id, no type, a NUL, too long, nested too
deep, not an object): a 400 kept for staff, never a 500 (Stripe would retry a 500 for days, and
it could never succeed)."""

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


# --- Signed webhooks that are not Stripe's shape at all: 400 and a record, never a 500


@pytest.mark.sqlite
@pytest.mark.parametrize(
    "payload",
    [
        json.dumps({"id": "evt_\u0000x", "type": "charge.refunded", "data": {"object": {}}}).encode(),
        json.dumps({"id": "evt_" + "x" * 300, "type": "charge.refunded", "data": {"object": {}}}).encode(),
        json.dumps({"id": "evt_1", "type": "charge.refunded\u0000", "data": {"object": {}}}).encode(),
        b"[" * 5000 + b"]" * 5000,
        json.dumps(
            {
                "id": "evt_2",
                "type": "charge.refunded",
                "data": {"object": {"payment_intent": "pi_" + "9" * 300}},
            }
        ).encode(),
    ],
    ids=["nul in id", "id too long", "nul in type", "nested 5000 deep", "intent too long"],
)
def test_a_signed_odd_webhook_is_a_400_and_recorded(client, stripe_fake, payload):
    response = client.post(
        "/billing/stripe/webhook/",
        data=payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign(payload),
    )
    assert response.status_code == 400 and response.json()["code"] == "malformed_event"
    assert WebhookRejection.objects.count() == 1


@pytest.mark.sqlite
@pytest.mark.parametrize(
    "event",
    [
        {"type": "checkout.session.completed"},
        {"id": "evt_1", "type": "charge.refunded"},
        {"id": "evt_2", "data": {}},
        [],
    ],
    ids=["no id", "no data", "no type", "not an object"],
)
def test_a_signed_but_malformed_webhook_is_a_400_recorded_for_staff(client, stripe_fake, event):
    payload = json.dumps(event).encode()
    response = client.post(
        "/billing/stripe/webhook/",
        data=payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign(payload),
    )
    assert response.status_code == 400 and response.json()["code"] == "malformed_event"
    rejection = WebhookRejection.objects.get()
    assert rejection.reason and "@" not in rejection.reason


@pytest.mark.sqlite
def test_a_checkout_event_without_a_session_id_is_rejected_not_retried_forever(client, stripe_fake):
    event = stripe_fake.event("checkout.session.completed", {"metadata": {"reservation_id": "1"}})
    payload = json.dumps(event).encode()
    response = client.post(
        "/billing/stripe/webhook/",
        data=payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign(payload),
    )
    assert response.status_code == 400
    assert WebhookRejection.objects.get().event_id == event["id"]
