"""Payments and refunds: every change to money goes through these services.

Money and seats are settled under the same lock as reserving (the group row, then the
reservation, then the payment), so a payment that arrives late, twice, or out of order
cannot double-book a seat or confirm a seat nobody paid for.
"""

import datetime as dt
import logging
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from billing.models import Payment, Refund
from enrollment.models import Reservation
from enrollment.services.seats import (
    lock_group,
    offer_free_seats,
    release_lapsed_holds,
    reservation_transition,
    seats_taken_locked,
)
from grouport.audit import audit_record
from grouport.exceptions import InvalidInput
from grouport.models import User

logger = logging.getLogger(__name__)

# Stripe refuses a Checkout Session that expires in under 30 minutes; a minute's margin.
STRIPE_MIN_CHECKOUT = dt.timedelta(minutes=31)
CENT = Decimal("0.01")


def _lock_payment(payment_id: int) -> Payment:
    return Payment.objects.select_for_update().get(pk=payment_id)


def payment_paid_amount(reservation: Reservation) -> Decimal:
    paid = reservation.payments.filter(status=Payment.Status.PAID).aggregate(total=Sum("amount"))["total"]
    return _money(paid)


def payment_settle(
    *, payment: Payment, payment_intent_id: str = "", now: dt.datetime | None = None
) -> Payment:
    """Record that ``payment`` was paid and give its member the seat, or refund it in full.

    A payment for a hold that lapsed (an async payment, a late webhook) still gets the seat
    if one is free, re-checked under the group lock; if none is, the money goes back and
    the member is told. A repeat of the same news changes nothing.
    """
    from enrollment.tasks import send_reservation_email

    now = now or timezone.now()
    with transaction.atomic():
        group = lock_group(payment.reservation.group_id)
        reservation = Reservation.objects.select_for_update().get(pk=payment.reservation_id)
        payment = _lock_payment(payment.pk)
        if payment.status == Payment.Status.PAID:
            return payment
        payment.status, payment.paid_at = Payment.Status.PAID, now
        payment.payment_intent_id = payment_intent_id or payment.payment_intent_id
        payment.save(update_fields=["status", "paid_at", "payment_intent_id", "updated_at"])
        audit_record(actor=None, action="payment.paid", obj=payment, data={"reservation": reservation.pk})

        if reservation.status == Reservation.Status.HELD and reservation.expires_at > now:
            reservation_transition(
                reservation=reservation, to=Reservation.Status.CONFIRMED, actor=None, now=now
            )
            send_reservation_email.delay_on_commit(reservation.pk, "confirmed")
            return payment
        # Paid, but not on a live hold: free the lapsed holds (ours included), then keep the
        # seat for the payer if one is free, before the waitlist is offered what is left.
        release_lapsed_holds(group, now)
        reservation.refresh_from_db()
        seat_free = seats_taken_locked(group, now) < group.capacity
        if reservation.status == Reservation.Status.EXPIRED and seat_free:
            reservation_transition(
                reservation=reservation,
                to=Reservation.Status.CONFIRMED,
                actor=None,
                now=now,
                data={"late": True},
            )
            send_reservation_email.delay_on_commit(reservation.pk, "confirmed")
        else:
            # No seat to give (full, cancelled, or already confirmed by another payment).
            refund_issue(
                payment=payment, amount=payment.refundable, key=f"unseated-{payment.pk}", reason="no_seat"
            )
            send_reservation_email.delay_on_commit(reservation.pk, "unseated")
        offer_free_seats(group, now)
    logger.info("payment %s settled for reservation %s (%s)", payment.pk, reservation.pk, reservation.status)
    return payment


def payment_mark(*, payment: Payment, status: str) -> Payment:
    """Move a payment that has not been paid to processing, failed or expired."""
    with transaction.atomic():
        payment = _lock_payment(payment.pk)
        if payment.status in (Payment.Status.PAID, status):
            return payment
        old, payment.status = payment.status, status
        payment.save(update_fields=["status", "updated_at"])
        audit_record(actor=None, action=f"payment.{status}", obj=payment, data={"from": old})
    return payment


def payment_release_hold(*, payment: Payment, now: dt.datetime | None = None) -> None:
    """The checkout behind ``payment`` is over unpaid: let its held seat go (once)."""
    now = now or timezone.now()
    with transaction.atomic():
        group = lock_group(payment.reservation.group_id)
        reservation = Reservation.objects.select_for_update().get(pk=payment.reservation_id)
        newer = reservation.payments.filter(created_at__gt=payment.created_at).exists()
        if reservation.status == Reservation.Status.HELD and not newer:
            reservation_transition(
                reservation=reservation, to=Reservation.Status.EXPIRED, actor=None, now=now
            )
            offer_free_seats(group, now)


def payment_flag_dispute(*, payment: Payment, dispute_id: str) -> Payment:
    with transaction.atomic():
        payment = _lock_payment(payment.pk)
        if not payment.disputed:
            payment.disputed = True
            payment.save(update_fields=["disputed", "updated_at"])
            audit_record(actor=None, action="payment.disputed", obj=payment, data={"dispute": dispute_id})
    logger.warning("payment %s disputed (%s): staff should review", payment.pk, dispute_id)
    return payment


def offline_payment_complete(*, reservation: Reservation, member: User) -> Payment:
    """Take the test-mode payment for a held seat (the offline provider only)."""
    from billing.providers import OfflineProvider, payment_provider_for

    if reservation.member_id != member.pk:
        raise PermissionDenied
    if not isinstance(payment_provider_for(reservation), OfflineProvider):
        raise PermissionDenied("Offline payments are off: a payment service is configured.")
    payment = Payment.objects.create(
        reservation=reservation,
        provider=Payment.Provider.OFFLINE,
        amount=reservation.group.price,
        currency=reservation.group.currency,
    )
    return payment_settle(payment=payment)


def refund_issue(
    *, payment: Payment, amount: Decimal, key: str, reason: str, actor: User | None = None
) -> Refund:
    """Return ``amount`` of ``payment`` once per ``key`` (a retry finds the same refund).

    The amount counts against the payment as soon as it is asked for, under the payment's
    row lock, so two refunds at once can never return more than was paid.
    """
    from billing.tasks import send_refund

    with transaction.atomic():
        existing = Refund.objects.filter(key=key).first()
        if existing is not None:
            return existing
        payment = _lock_payment(payment.pk)
        existing = Refund.objects.filter(key=key).first()  # again, now that we hold the lock
        if existing is not None:
            return existing
        if amount <= 0 or amount > payment.refundable:
            raise InvalidInput(
                f"A refund must be more than 0 and at most {payment.refundable} {payment.currency.upper()}.",
                code="invalid_refund_amount",
            )
        refund = Refund.objects.create(payment=payment, amount=amount, key=key, reason=reason)
        payment.amount_refunded += amount
        payment.save(update_fields=["amount_refunded", "updated_at"])
        audit_record(
            actor=actor, action="refund.requested", obj=refund, data={"payment": payment.pk, "reason": reason}
        )
        send_refund.delay_on_commit(refund.pk)
    logger.info("refund %s of payment %s requested (%s)", refund.pk, payment.pk, reason)
    return refund


def refund_send(*, refund: Refund) -> Refund:
    """Carry out a requested refund at the payment provider; safe to call again."""
    from billing import gateway

    refund = Refund.objects.select_related("payment").get(pk=refund.pk)
    if refund.status != Refund.Status.PENDING:
        return refund
    payment = refund.payment
    stripe_id = None
    if payment.provider == Payment.Provider.STRIPE:
        # The key is the refund's own: a retried task sends the same request, refunded once.
        result = gateway.refund_create(
            payment_intent_id=payment.payment_intent_id,
            amount=refund.amount,
            key=refund.key,
            refund_id=refund.pk,
        )
        stripe_id = result.id
    with transaction.atomic():
        refund = Refund.objects.select_for_update().get(pk=refund.pk)
        if refund.status != Refund.Status.PENDING:
            return refund
        refund.status, refund.stripe_refund_id = Refund.Status.SUCCEEDED, stripe_id
        refund.save(update_fields=["status", "stripe_refund_id", "updated_at"])
        audit_record(actor=None, action="refund.succeeded", obj=refund, data={"payment": payment.pk})
        from billing.tasks import send_refund_email

        send_refund_email.delay_on_commit(refund.pk)
    return refund


def refund_mark_failed(*, refund_id: int, reason: str) -> None:
    """Give up on a refund the provider keeps refusing: release its amount so staff can act."""
    with transaction.atomic():
        refund = Refund.objects.select_for_update().get(pk=refund_id)
        if refund.status != Refund.Status.PENDING:
            return
        payment = _lock_payment(refund.payment_id)
        payment.amount_refunded -= refund.amount
        payment.save(update_fields=["amount_refunded", "updated_at"])
        refund.status = Refund.Status.FAILED
        refund.save(update_fields=["status", "updated_at"])
        audit_record(
            actor=None,
            action="refund.failed",
            obj=refund,
            data={"payment": payment.pk, "error": reason[:100]},
        )
    logger.error("refund %s failed for good (%s): staff should look", refund_id, reason[:100])


def refund_record_from_stripe(*, payment: Payment, charge: dict) -> None:
    """Bring our refunds in line with a charge Stripe reports refunded (e.g. from its dashboard)."""
    from billing.gateway import from_cents

    with transaction.atomic():
        payment = _lock_payment(payment.pk)
        listed = (charge.get("refunds") or {}).get("data") or []
        for item in listed:
            if Refund.objects.filter(stripe_refund_id=item["id"]).exists():
                continue
            ours = (item.get("metadata") or {}).get("refund_id")
            if ours and Refund.objects.filter(pk=ours, payment=payment).exists():
                Refund.objects.filter(pk=ours).update(
                    stripe_refund_id=item["id"], status=Refund.Status.SUCCEEDED
                )
                continue
            _record_outside_refund(
                payment, from_cents(item["amount"]), key=f"stripe-{item['id']}", stripe_id=item["id"]
            )
        # Whatever the list says, Stripe's total is the truth: add what we have not seen.
        stripe_total = from_cents(charge.get("amount_refunded", 0))
        if stripe_total > payment.amount_refunded:
            _record_outside_refund(
                payment,
                stripe_total - payment.amount_refunded,
                key=f"charge-{charge.get('id')}-{charge.get('amount_refunded')}",
                stripe_id=None,
            )


def _record_outside_refund(payment: Payment, amount: Decimal, *, key: str, stripe_id: str | None) -> None:
    if Refund.objects.filter(key=key).exists() or amount <= 0:
        return
    amount = min(amount, payment.amount - payment.amount_refunded)
    if amount <= 0:
        return
    refund = Refund.objects.create(
        payment=payment,
        amount=amount,
        key=key,
        reason="stripe",
        status=Refund.Status.SUCCEEDED,
        stripe_refund_id=stripe_id,
    )
    payment.amount_refunded += amount
    payment.save(update_fields=["amount_refunded", "updated_at"])
    audit_record(actor=None, action="refund.recorded", obj=refund, data={"payment": payment.pk})


def refund_due_on_cancel(*, reservation: Reservation, now: dt.datetime) -> Decimal:
    """Return what the cancellation policy gives back when the member cancels now."""
    first = reservation.group.sessions.order_by("starts_at").values_list("starts_at", flat=True).first()
    if first is None or now > first - dt.timedelta(hours=settings.REFUND_FULL_BEFORE_HOURS):
        return Decimal("0.00")
    return payment_paid_amount(reservation) - _refunded(reservation)


def _refunded(reservation: Reservation) -> Decimal:
    total = reservation.payments.aggregate(total=Sum("amount_refunded"))["total"]
    return _money(total)


def _money(value: Decimal | None) -> Decimal:
    # SQLite sums decimals without their scale (320, not 320.00): always two places.
    return Decimal(value or 0).quantize(CENT)


def stripe_checkout_start(*, reservation: Reservation, now: dt.datetime | None = None) -> Payment:
    """Return a Payment with an open Stripe Checkout page for the held ``reservation``.

    The hold and the Checkout page end at the same moment. Stripe wants at least 30 minutes,
    and a few seconds have passed since the hold began, so the hold is first stretched to
    just over 30 minutes from now when it is shorter. A retried call reuses the same attempt
    and idempotency key, so Stripe creates one session.
    """
    from billing import gateway
    from enrollment.errors import HoldExpired

    now = now or timezone.now()
    with transaction.atomic():
        lock_group(reservation.group_id)
        reservation = Reservation.objects.select_for_update().get(pk=reservation.pk)
        if reservation.status != Reservation.Status.HELD or reservation.expires_at <= now:
            raise HoldExpired()
        open_payment = (
            reservation.payments.select_for_update()
            .filter(provider=Payment.Provider.STRIPE, status=Payment.Status.PENDING)
            .order_by("-created_at")
            .first()
        )
        if open_payment is not None and open_payment.checkout_url:
            return open_payment
        minimum = now + STRIPE_MIN_CHECKOUT
        if reservation.expires_at < minimum:
            reservation.expires_at = minimum
            reservation.save(update_fields=["expires_at", "updated_at"])
        payment = open_payment or Payment.objects.create(
            reservation=reservation,
            provider=Payment.Provider.STRIPE,
            amount=reservation.group.price,
            currency=reservation.group.currency,
        )
    session = gateway.checkout_session_create(
        reservation=reservation,
        payment_id=payment.pk,
        amount=payment.amount,
        expires_at=reservation.expires_at,
    )
    Payment.objects.filter(pk=payment.pk).update(checkout_session_id=session.id, checkout_url=session.url)
    payment.refresh_from_db()
    logger.info("checkout %s opened for reservation %s", payment.pk, reservation.pk)
    return payment


def reservation_cancel_with_policy(
    *, reservation: Reservation, actor: User | None, refund: str = "policy"
) -> list[Refund]:
    """Cancel a reservation and refund: as the policy says (members), or in full or not at
    all (staff's choice).
    """
    from billing.tasks import close_checkout
    from enrollment.services.reservations import reservation_cancel

    if refund not in ("policy", "full", "none"):
        raise InvalidInput("refund must be policy, full or none.", code="invalid_refund_mode")
    now = timezone.now()
    with transaction.atomic():
        # Cancel first: it takes the group and reservation locks, held to the end of this
        # transaction, so a payment settling at the same moment is either wholly before
        # (and refunded here) or wholly after (and refunded as unseated).
        reservation_cancel(reservation=reservation, actor=actor, now=now)
        for payment in reservation.payments.filter(
            provider=Payment.Provider.STRIPE, status=Payment.Status.PENDING, checkout_session_id__isnull=False
        ):
            # An open Checkout page for a seat given up must not take money any more.
            close_checkout.delay_on_commit(payment.pk)
        due = (
            refund_due_on_cancel(reservation=reservation, now=now) if refund == "policy" else Decimal("0.00")
        )
        if refund != "full" and due <= 0:
            return []
        return [
            refund_issue(
                payment=payment,
                amount=payment.refundable,
                key=f"cancel-{reservation.pk}-{payment.pk}",
                reason="cancelled" if refund == "policy" else "staff_cancelled",
                actor=actor,
            )
            for payment in reservation.payments.select_for_update().filter(status=Payment.Status.PAID)
            if payment.refundable > 0
        ]
