"""Stripe webhook events: each stored once, handled once, in any order.

The event row and everything the event changes commit together: if handling fails, all
of it rolls back (the event row too) and the endpoint answers 500 so Stripe sends it again.
A second delivery of an event finds its row and does nothing.
"""

import logging
import re
from collections.abc import Callable

from django.db import IntegrityError, transaction

from billing.gateway import MalformedEvent
from billing.models import Payment, StripeEvent, WebhookRejection
from billing.services import (
    payment_adopt_checkout,
    payment_flag_dispute,
    payment_mark,
    payment_release_hold,
    payment_settle,
    refund_record_from_stripe,
    refund_record_one,
)

logger = logging.getLogger(__name__)

# Stripe's ids ("evt_1Nq...", "cs_test_a1...", "pi_3N...") and event types
# ("checkout.session.completed"). Anything else is not Stripe's and would not fit our columns.
STRIPE_ID = re.compile(r"[A-Za-z0-9_]{1,255}")
EVENT_TYPE = re.compile(r"[a-z0-9_.]{1,100}")


def _stripe_id(value: object, what: str) -> str:
    """Return ``value`` if it is a Stripe id, "" if it is absent; raise ``MalformedEvent``."""
    if value in (None, ""):
        return ""
    if not isinstance(value, str) or not STRIPE_ID.fullmatch(value):
        raise MalformedEvent(f"{what} is not a Stripe id")
    return value


# Typed reads of an event's fields. A signed event is Stripe's, but one with a field of the
# wrong type (``"metadata": 5``) can never be handled however often it is sent: it is a 400,
# kept for staff, never a 500 that Stripe would retry for days.


def _object(value: object, what: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise MalformedEvent(f"{what} is not an object")
    return value


def _list(value: object, what: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise MalformedEvent(f"{what} is not a list")
    return value


def _text(value: object, what: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > 255:
        raise MalformedEvent(f"{what} is not a short string")
    return value


def _cents(value: object, what: str) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10**11:
        raise MalformedEvent(f"{what} is not an amount in cents")
    return value


def _our_id(value: object) -> int | None:
    """One of our ids as Stripe echoes it in metadata (a string of digits), or None."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 19:
        return int(value)
    return None


class UnknownCheckout(Exception):
    """An event names one of our reservations but a checkout we have no record of (yet)."""


def event_check(event: object) -> dict:
    """Return ``event`` if it has an id, a type and a data object; raise ``MalformedEvent``."""
    if not isinstance(event, dict):
        raise MalformedEvent("not an object")
    if not isinstance(event.get("id"), str) or not event["id"]:
        raise MalformedEvent("no event id")
    if not STRIPE_ID.fullmatch(event["id"]):
        raise MalformedEvent("the event id is not a Stripe id")
    if not isinstance(event.get("type"), str) or not event["type"]:
        raise MalformedEvent("no event type")
    if not EVENT_TYPE.fullmatch(event["type"]):
        raise MalformedEvent("the event type is not a Stripe event type")
    data = event.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("object"), dict):
        raise MalformedEvent("no data object")
    return event


def _checkout_payment(session: dict) -> Payment | None:
    metadata = _object(session.get("metadata"), "the metadata")
    if "reservation_id" not in metadata:
        return None  # another integration's checkout on the same Stripe account
    session_id = _stripe_id(session.get("id"), "the checkout session id")
    if not session_id:
        raise MalformedEvent("a checkout session without an id")
    _stripe_id(session.get("payment_intent"), "the payment intent")
    _text(session.get("payment_status"), "the payment status")
    payment = Payment.objects.select_related("reservation").filter(checkout_session_id=session_id).first()
    if payment is None:
        # A page whose answer we never got (the request timed out after Stripe made it): the
        # attempt's id in its metadata names it. Recorded now, so later events find it too.
        attempt, reservation_id = _our_id(metadata.get("payment_id")), _our_id(metadata.get("reservation_id"))
        if attempt is not None and reservation_id is not None:
            payment = payment_adopt_checkout(
                payment_id=attempt, reservation_id=reservation_id, session_id=session_id
            )
    if payment is None:
        # Our record of the session may not be saved yet: fail, and Stripe retries later.
        raise UnknownCheckout(session_id)
    return payment


def _intent_payment(obj: dict) -> Payment | None:
    intent = _stripe_id(obj.get("payment_intent"), "the payment intent")
    if not intent:
        return None
    return Payment.objects.select_related("reservation").filter(payment_intent_id=intent).first()


def on_checkout_completed(session: dict) -> None:
    payment = _checkout_payment(session)
    if payment is None:
        return
    if session.get("payment_status") in ("paid", "no_payment_required"):
        payment_settle(payment=payment, payment_intent_id=session.get("payment_intent") or "")
    else:
        # A delayed method (a bank debit): wait for async_payment_succeeded or _failed.
        Payment.objects.filter(pk=payment.pk, payment_intent_id="").update(
            payment_intent_id=session.get("payment_intent") or ""
        )
        payment_mark(payment=payment, status=Payment.Status.PROCESSING)


def on_async_payment_succeeded(session: dict) -> None:
    payment = _checkout_payment(session)
    if payment is not None:
        payment_settle(payment=payment, payment_intent_id=session.get("payment_intent") or "")


def on_async_payment_failed(session: dict) -> None:
    payment = _checkout_payment(session)
    if payment is not None:
        # Group and reservation locks first (the lock order), then the payment's.
        payment_release_hold(payment=payment)
        payment_mark(payment=payment, status=Payment.Status.FAILED)


def on_checkout_expired(session: dict) -> None:
    payment = _checkout_payment(session)
    if payment is not None:
        payment_release_hold(payment=payment)
        payment_mark(payment=payment, status=Payment.Status.EXPIRED)


def _refund_item(value: object) -> dict:
    """A refund as Stripe describes it, with each field we read of the right type."""
    item = _object(value, "a refund")
    _stripe_id(item.get("id"), "the refund id")
    _text(item.get("status"), "the refund status")
    _text(item.get("failure_reason"), "the failure reason")
    _cents(item.get("amount"), "the refund amount")
    _object(item.get("metadata"), "the refund metadata")
    return item


def on_charge_refunded(charge: dict) -> None:
    refunds = _object(charge.get("refunds"), "the charge's refunds")
    charge = {
        **charge,
        "refunds": {"data": [_refund_item(item) for item in _list(refunds.get("data"), "the refund list")]},
    }
    _cents(charge.get("amount_refunded"), "the amount refunded")
    _text(charge.get("id"), "the charge id")
    payment = _intent_payment(charge)
    if payment is not None:
        refund_record_from_stripe(payment=payment, charge=charge)


def on_refund_changed(refund: dict) -> None:
    """``refund.created``/``updated``/``failed`` and ``charge.refund.updated``: a refund's status."""
    item = _refund_item(refund)
    payment = _intent_payment(item)
    if payment is not None:
        refund_record_one(payment=payment, item=item)


def on_dispute_created(dispute: dict) -> None:
    payment = _intent_payment(dispute)
    if payment is not None:
        payment_flag_dispute(payment=payment, dispute_id=_stripe_id(dispute.get("id"), "the dispute id"))


HANDLERS: dict[str, Callable[[dict], None]] = {
    "checkout.session.completed": on_checkout_completed,
    "checkout.session.async_payment_succeeded": on_async_payment_succeeded,
    "checkout.session.async_payment_failed": on_async_payment_failed,
    "checkout.session.expired": on_checkout_expired,
    "charge.refunded": on_charge_refunded,
    "charge.refund.updated": on_refund_changed,
    "refund.created": on_refund_changed,
    "refund.updated": on_refund_changed,
    "refund.failed": on_refund_changed,
    "charge.dispute.created": on_dispute_created,
}


def webhook_reject(*, event: object, reason: str) -> WebhookRejection:
    """Keep a record, for staff, of a signed event we could not read."""
    known = event if isinstance(event, dict) else {}
    rejection = WebhookRejection.objects.create(
        # What identifies it, minus anything PostgreSQL could not store (a NUL).
        event_id=str(known.get("id") or "").replace("\x00", "")[:255],
        event_type=str(known.get("type") or "").replace("\x00", "")[:100],
        reason=reason.replace("\x00", "")[:200],
    )
    logger.warning("stripe webhook rejection %s: %s", rejection.pk, reason)
    return rejection


def stripe_event_process(*, event: dict) -> bool:
    """Handle a verified event once. Return False when it was already handled."""
    event_check(event)
    with transaction.atomic():
        try:
            with transaction.atomic():
                StripeEvent.objects.create(event_id=event["id"], type=event["type"])
        except IntegrityError:
            logger.info("stripe event %s already handled", event["id"])
            return False
        handler = HANDLERS.get(event["type"])
        if handler is not None:
            handler(event["data"]["object"])
    logger.info("stripe event %s (%s) handled", event["id"], event["type"])
    return True
