"""The one place that talks to Stripe's API (the official library), and what it may say.

Stripe gets no clinical words: the product is named by its weekly slot ("Group program,
Tuesdays 7:00 PM"), and the metadata carries only our reservation id.
"""

import datetime as dt
import json
from decimal import Decimal

import stripe
from django.conf import settings
from django.utils import translation

from enrollment.models import Reservation


def stripe_client() -> stripe.StripeClient:
    """The Stripe client, with timeouts that fit inside a web request.

    The library waits 80 s by default; gunicorn kills a request at 30 s, so a stalled Stripe
    would give the member gunicorn's bare error page (no 988, no way forward) and hold the
    worker. With ``STRIPE_CONNECT_TIMEOUT`` and ``STRIPE_READ_TIMEOUT`` and at most
    ``STRIPE_MAX_NETWORK_RETRIES`` retries (same idempotency key), the worst case is
    ``(retries + 1) * (connect + read)`` plus a second of backoff: well under 30 s.
    """
    options: dict = {
        "max_network_retries": settings.STRIPE_MAX_NETWORK_RETRIES,
        "http_client": stripe.RequestsClient(
            timeout=(settings.STRIPE_CONNECT_TIMEOUT, settings.STRIPE_READ_TIMEOUT)
        ),
    }
    if settings.STRIPE_API_BASE:
        options["base_addresses"] = {"api": settings.STRIPE_API_BASE}
    return stripe.StripeClient(settings.STRIPE_SECRET_KEY, **options)


def stripe_worst_case_seconds() -> float:
    """How long one call may take at most, retries included (see ``stripe_client``)."""
    tries = settings.STRIPE_MAX_NETWORK_RETRIES + 1
    return tries * (settings.STRIPE_CONNECT_TIMEOUT + settings.STRIPE_READ_TIMEOUT) + tries - 1


def to_cents(amount: Decimal) -> int:
    return int((amount * 100).quantize(Decimal("1")))


def from_cents(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(Decimal("0.01"))


def neutral_product_name(reservation: Reservation) -> str:
    """What Stripe and the card statement show: the weekly slot, no clinical word, in English."""
    group = reservation.group
    with translation.override("en"):
        return f"Group program, {group.weekday_plural} {group.start_time:%-I:%M %p}"


def checkout_params(
    *, reservation: Reservation, attempt_id: int, amount: Decimal, expires_at: dt.datetime
) -> dict:
    """The parameters of one Checkout attempt: stored with it, sent exactly so on every try."""
    page = f"{settings.SITE_URL}/reservations/{reservation.pk}/"
    return {
        "mode": "payment",
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": reservation.group.currency,
                    "unit_amount": to_cents(amount),
                    "product_data": {"name": neutral_product_name(reservation)},
                },
            }
        ],
        "client_reference_id": str(reservation.pk),
        # Ids only. The attempt's id lets a completed page we never heard of (its answer was
        # lost) still find its payment.
        "metadata": {"reservation_id": str(reservation.pk), "payment_id": str(attempt_id)},
        "payment_intent_data": {"metadata": {"reservation_id": str(reservation.pk)}},
        "customer_email": reservation.member.email,
        "expires_at": int(expires_at.timestamp()),
        "success_url": f"{page}?checkout=success",
        "cancel_url": f"{page}?checkout=cancelled",
    }


def checkout_session_create(*, params: dict, key: str) -> stripe.checkout.Session:
    """Create the hosted Checkout page for one attempt (``params`` and ``key`` as stored)."""
    return stripe_client().v1.checkout.sessions.create(params=params, options={"idempotency_key": key})


def checkout_session_expire(session_id: str) -> None:
    """Close a Checkout page early (the member let the seat go)."""
    stripe_client().v1.checkout.sessions.expire(session_id)


def refunds_of(*, payment_intent_id: str) -> list[dict]:
    """Every refund Stripe has of a payment, as plain dicts (newest first, as Stripe lists)."""
    listed = stripe_client().v1.refunds.list(params={"payment_intent": payment_intent_id, "limit": 100})
    return [item.to_dict() for item in listed.data]


def refund_find(*, payment_intent_id: str, refund_id: int) -> stripe.Refund | None:
    """Return the refund Stripe made for our refund ``refund_id`` (by its metadata), if any."""
    listed = stripe_client().v1.refunds.list(params={"payment_intent": payment_intent_id, "limit": 100})
    for item in listed.data:
        if (item.to_dict().get("metadata") or {}).get("refund_id") == str(refund_id):
            return item
    return None


def refund_create(*, payment_intent_id: str, amount: Decimal, key: str, refund_id: int) -> stripe.Refund:
    """Refund ``amount`` of a payment; ``key`` makes a retried request refund only once."""
    return stripe_client().v1.refunds.create(
        params={
            "payment_intent": payment_intent_id,
            "amount": to_cents(amount),
            "metadata": {"refund_id": str(refund_id)},
        },
        options={"idempotency_key": key},
    )


class MalformedEvent(ValueError):
    """A correctly signed event we cannot read: retrying it would never help."""


def webhook_event_verify(*, payload: bytes, signature: str | None) -> dict:
    """Return the event if ``signature`` is Stripe's over ``payload`` (300 s tolerance).

    Raise ``SignatureVerificationError`` when it is not Stripe's, ``MalformedEvent`` when it
    is but is not a JSON object (the signature is checked first: only then is it worth a
    record for staff).
    """
    if not settings.STRIPE_WEBHOOK_SECRET:
        raise stripe.SignatureVerificationError("No webhook secret is configured.", signature)
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise stripe.SignatureVerificationError("The payload is not text.", signature) from exc
    stripe.WebhookSignature.verify_header(text, signature, settings.STRIPE_WEBHOOK_SECRET, tolerance=300)
    if "\\u0000" in text:
        # Stripe sends no NUL; PostgreSQL cannot store one in a text column.
        raise MalformedEvent("contains a NUL character")
    try:
        event = json.loads(text)
    except ValueError as exc:
        raise MalformedEvent("not JSON") from exc
    except RecursionError as exc:  # "[[[[..." thousands deep
        raise MalformedEvent("nested too deeply") from exc
    if not isinstance(event, dict):
        raise MalformedEvent("not an object")
    return event
