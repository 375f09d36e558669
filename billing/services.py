"""Payments and refunds: every change to money goes through these services.

Seats are enrollment's. When money arrives, billing records it and asks enrollment what it
means for the seat (``reservation_payment_arrived``: confirm, confirm late, or unseat), then
refunds if the answer is "unseat". Locks follow one order everywhere: member, group,
reservation (taken by enrollment's ``seat_lock``), then the payment. So a payment that
arrives late, twice, or out of order cannot double-book a seat or confirm one nobody paid
for, and a replayed provider event can never move money twice: every payment and refund
status moves through its transition map.

Invariant: a payment's ``amount_refunded`` is the sum of its pending and succeeded refunds
(``_recount``), so a refund can be given up on and later reported done without counting
the money twice.
"""

import datetime as dt
import logging
from decimal import Decimal

import stripe
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from billing.attempts import attempt_abandon
from billing.lock_objects import lock_payment, lock_payment_refunds, lock_payments, lock_refund
from billing.models import Payment, Refund
from billing.pricing import reservation_price
from enrollment.lock_objects import lock_reservation
from enrollment.models import Reservation
from enrollment.ports import PaymentUnavailable
from enrollment.services.reservations import (
    PaymentOutcome,
    reservation_check_payable,
    reservation_payment_arrived,
    reservation_release,
    seat_lock,
)
from grouport.audit import audit_record
from grouport.exceptions import InvalidInput
from grouport.models import User
from grouport.outbox import outbox_add
from grouport.transitions import allowed, transition
from groups.lock_objects import lock_group

logger = logging.getLogger(__name__)

# Stripe refuses a Checkout Session that expires in under 30 minutes; a minute's margin.
STRIPE_MIN_CHECKOUT = dt.timedelta(minutes=31)
# A stored request is sent again only while its expiry is still this far ahead.
STRIPE_MIN_CHECKOUT_REUSE = dt.timedelta(minutes=30, seconds=15)
CENT = Decimal("0.01")
COUNTED = (Refund.Status.PENDING, Refund.Status.SUCCEEDED)


def _money(value: Decimal | None) -> Decimal:
    # SQLite sums decimals without their scale (320, not 320.00): always two places.
    return Decimal(value or 0).quantize(CENT)


def _lock_payment(payment_id: int) -> Payment:
    return lock_payment(payment_id)


def _recount(payment: Payment) -> Payment:
    """Set ``amount_refunded`` to what the refund rows say (pending and succeeded). Locked."""
    total = Refund.objects.filter(payment=payment, status__in=COUNTED).aggregate(total=Sum("amount"))["total"]
    payment.amount_refunded = _money(total)
    payment.save(update_fields=["amount_refunded", "updated_at"])
    return payment


def payment_paid_amount(reservation: Reservation) -> Decimal:
    """Money received for ``reservation`` and not refunded (pending refunds count as returned)."""
    totals = reservation.payments.filter(status=Payment.Status.PAID).aggregate(
        paid=Sum("amount"), refunded=Sum("amount_refunded")
    )
    return _money(totals["paid"]) - _money(totals["refunded"])


def payment_settle(
    *, payment: Payment, payment_intent_id: str = "", now: dt.datetime | None = None
) -> Payment:
    """Record that ``payment`` was paid, and let enrollment decide the seat; refund in full
    if there is no seat for it. A repeat of the same news changes nothing.

    The seat is decided first, under the member's, group's and reservation's locks (the
    order of ``grouport/locks.py``), then the payment's row is locked and marked paid. Two
    settles of one payment queue on the group, so the second sees it paid and stops.
    """
    now = now or timezone.now()
    with transaction.atomic():
        seat = seat_lock(reservation_id=payment.reservation_id)
        if Payment.objects.filter(pk=payment.pk, status=Payment.Status.PAID).exists():
            return Payment.objects.get(pk=payment.pk)
        outcome = reservation_payment_arrived(seat=seat, now=now)
        payment = _lock_payment(payment.pk)
        payment.paid_at = now
        payment.payment_intent_id = payment_intent_id or payment.payment_intent_id
        transition(
            payment,
            to=Payment.Status.PAID,
            fields=("paid_at", "payment_intent_id"),
            data={"reservation": seat.reservation.pk},
        )
        if outcome == PaymentOutcome.UNSEATED:
            refund_issue(
                payment=payment, amount=payment.refundable, key=f"unseated-{payment.pk}", reason="no_seat"
            )
    logger.info("payment %s settled for reservation %s (%s)", payment.pk, payment.reservation_id, outcome)
    return payment


def payment_adopt_checkout(*, payment_id: int, reservation_id: int, session_id: str) -> Payment | None:
    """Record the Checkout page of an attempt whose answer we never got (Stripe made it, and
    its webhook names the attempt in its metadata); return the attempt, or None if it is not
    that reservation's. Locks in the one order: the seat's rows, then the payment."""
    with transaction.atomic():
        if not Payment.objects.filter(pk=payment_id, reservation_id=reservation_id).exists():
            return None
        seat_lock(reservation_id=reservation_id)
        payment = _lock_payment(payment_id)
        if payment.checkout_session_id is None:
            payment.checkout_session_id = session_id
            payment.save(update_fields=["checkout_session_id", "updated_at"])
    return Payment.objects.select_related("reservation").filter(checkout_session_id=session_id).first()


def payment_mark(*, payment: Payment, status: str) -> Payment:
    """Move a payment to processing, failed or expired, if its map allows it from where it is.

    A provider's events may come late or out of order: a move the map does not allow (a
    "processing" after "failed", anything after "paid") is ignored, never applied backwards.
    """
    with transaction.atomic():
        payment = _lock_payment(payment.pk)
        if payment.status == status:
            return payment
        if not allowed(Payment, payment.status, status):
            logger.info("payment %s: %s after %s ignored (out of order)", payment.pk, status, payment.status)
            return payment
        transition(payment, to=status)
    return payment


def payment_release_hold(*, payment: Payment, now: dt.datetime | None = None) -> None:
    """The checkout behind ``payment`` is over unpaid: let its held seat go (once), unless a
    newer attempt to pay for the same seat is under way."""
    now = now or timezone.now()
    newer = Payment.objects.filter(reservation_id=payment.reservation_id, created_at__gt=payment.created_at)
    if not newer.exists():
        reservation_release(reservation_id=payment.reservation_id, now=now)


def payment_flag_dispute(*, payment: Payment, dispute_id: str) -> Payment:
    with transaction.atomic():
        payment = _lock_payment(payment.pk)
        if not payment.disputed:
            payment.disputed = True
            payment.save(update_fields=["disputed", "updated_at"])
            audit_record(actor=None, action="payment.disputed", obj=payment, data={"dispute": dispute_id})
            outbox_add(
                kind="billing.dispute_alert", payload={"payment": payment.pk}, key=f"dispute-{payment.pk}"
            )
    logger.warning("payment %s disputed: staff should review", payment.pk)
    return payment


def offline_payment_complete(
    *, reservation: Reservation, member: User, eligibility_asked: bool = False
) -> Payment:
    """Take the test-mode payment for a held seat (only when no payment service is set up).

    ``eligibility_asked``: the pay page asked the rule a moment ago. It is asked again when
    the payment arrives (``payment_settle``, under the member's lock), as it is for a Stripe
    payment in its webhook."""
    if reservation.member_id != member.pk:
        raise PermissionDenied
    if settings.STRIPE_SECRET_KEY:
        raise PermissionDenied("Offline payments are off: a payment service is configured.")
    reservation_check_payable(reservation=reservation, member=member, eligibility=not eligibility_asked)
    payment = Payment.objects.create(provider=Payment.Provider.OFFLINE, **_priced(reservation))
    return payment_settle(payment=payment)


def refund_issue(
    *, payment: Payment, amount: Decimal, key: str, reason: str, actor: User | None = None
) -> Refund:
    """Return ``amount`` of ``payment`` once per ``key`` (a retry finds the same refund).

    The amount counts against the payment as soon as it is asked for, under the payment's
    row lock, so two refunds at once can never return more than was paid. The request to
    the provider is an outbox message written here: it goes out after the commit, even if
    the broker is down now.
    """
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
        _recount(payment)
        audit_record(
            actor=actor, action="refund.requested", obj=refund, data={"payment": payment.pk, "reason": reason}
        )
        outbox_add(kind="billing.refund_send", payload={"refund": refund.pk}, key=f"refund-send-{refund.pk}")
    logger.info("refund %s of payment %s requested (%s)", refund.pk, payment.pk, reason)
    return refund


def refund_send(*, refund: Refund) -> Refund:
    """Carry out a requested refund at the payment provider; safe to call again.

    The refund's own key goes to Stripe as the idempotency key, so a retry after a crash
    (even after Stripe did it) refunds once. Stripe's answer says where the money is: a
    refund is succeeded only when Stripe says so; "pending" or "requires_action" wait for
    its webhook; "failed" or "canceled" release the amount and tell staff.
    """
    from billing import gateway

    refund = Refund.objects.select_related("payment").get(pk=refund.pk)
    if refund.status != Refund.Status.PENDING or refund.stripe_refund_id:
        return refund  # done, or sent and waiting for Stripe's word
    payment = refund.payment
    if payment.provider != Payment.Provider.STRIPE:
        # The offline stand-in has no money to move: it is back at once.
        return refund_provider_status(refund_id=refund.pk, status="succeeded")
    try:
        result = gateway.refund_create(
            payment_intent_id=payment.payment_intent_id,
            amount=refund.amount,
            key=refund.provider_key,
            refund_id=refund.pk,
        )
    except stripe.StripeError as exc:
        if isinstance(exc, stripe.APIConnectionError) or (exc.http_status or 0) < 500:
            raise  # no answer (the same key goes again), or refused before it ran
        # Stripe keeps a 500 for the key and would answer it to every retry. Did the refund
        # happen? Stripe's list says; if not, the next try asks under a new key.
        found = gateway.refund_find(payment_intent_id=payment.payment_intent_id, refund_id=refund.pk)
        if found is None:
            Refund.objects.filter(pk=refund.pk, provider_attempt=refund.provider_attempt).update(
                provider_attempt=refund.provider_attempt + 1
            )
            raise
        result = found
    answer = result.to_dict()
    return refund_provider_status(
        refund_id=refund.pk,
        status=str(answer.get("status") or "pending"),
        stripe_refund_id=answer["id"],
        failure_reason=str(answer.get("failure_reason") or ""),
    )


# Stripe's refund statuses, and what each means for our record.
REFUND_BACK = {"succeeded"}
REFUND_NOT_BACK = {"failed", "canceled"}
# A refund we gave up on ourselves (the request kept failing): it may still have gone
# through, and Stripe's later word that it succeeded counts. One Stripe says failed is final.
GIVEN_UP = "not sent: "


def refund_provider_status(
    *, refund_id: int, status: str, stripe_refund_id: str | None = None, failure_reason: str = ""
) -> Refund:
    """Bring a refund in line with what the provider says of it (its answer, or a webhook).

    ``succeeded``: the money went back; counted, and the member is told (once). ``failed`` or
    ``canceled``: it did not (or no longer did); the amount is released so staff can act, and
    staff are told; the member never reads "refunded". Anything else (``pending``,
    ``requires_action``): still on its way. Any order, any number of times.
    """
    with transaction.atomic():
        payment_id = Refund.objects.values_list("payment_id", flat=True).get(pk=refund_id)
        payment = _lock_payment(payment_id)
        refund = lock_refund(refund_id)
        fields: list[str] = []
        if stripe_refund_id and not refund.stripe_refund_id:
            refund.stripe_refund_id = stripe_refund_id
            fields.append("stripe_refund_id")
        stripe_said_failed = refund.status == Refund.Status.FAILED and not refund.failure_reason.startswith(
            GIVEN_UP
        )
        if status in REFUND_BACK and stripe_said_failed:
            # Stripe's failure is final; a "succeeded" now is an older event arriving late.
            logger.info("refund %s: a success reported after its failure ignored (out of order)", refund.pk)
            if fields:
                refund.save(update_fields=[*fields, "updated_at"])
        elif status in REFUND_BACK and refund.status != Refund.Status.SUCCEEDED:
            transition(refund, to=Refund.Status.SUCCEEDED, fields=tuple(fields), data={"payment": payment.pk})
            _recount(payment)
            outbox_add(
                kind="billing.refund_email", payload={"refund": refund.pk}, key=f"refund-email-{refund.pk}"
            )
        elif status in REFUND_NOT_BACK and refund.status != Refund.Status.FAILED:
            refund.failure_reason = (failure_reason or status)[:100]
            transition(
                refund,
                to=Refund.Status.FAILED,
                fields=(*fields, "failure_reason"),
                data={"payment": payment.pk, "reason": refund.failure_reason},
            )
            _recount(payment)
            outbox_add(kind="billing.refund_failed_alert", payload={"refund": refund.pk})
            logger.error("refund %s failed at the provider (%s): staff should look", refund.pk, status)
        elif fields:
            refund.save(update_fields=[*fields, "updated_at"])
    return refund


def refund_mark_failed(*, refund_id: int, reason: str) -> None:
    """Give up on a refund the provider keeps refusing: release its amount so staff can act."""
    with transaction.atomic():
        payment_id = Refund.objects.values_list("payment_id", flat=True).get(pk=refund_id)
        payment = _lock_payment(payment_id)
        refund = lock_refund(refund_id)
        if refund.status != Refund.Status.PENDING:
            return
        refund.failure_reason = GIVEN_UP + reason[:80]
        transition(
            refund,
            to=Refund.Status.FAILED,
            fields=("failure_reason",),
            data={"payment": payment.pk, "error": reason[:100]},
        )
        _recount(payment)
        outbox_add(kind="billing.refund_failed_alert", payload={"refund": refund.pk})
    logger.error("refund %s failed for good (%s): staff should look", refund_id, reason[:100])


def refund_record_from_stripe(*, payment: Payment, charge: dict) -> None:
    """Bring our refunds in line with a charge Stripe reports refunded (any order, any count).

    Each refund Stripe lists is matched to ours (by its id, or the refund id we put in its
    metadata) and takes the status Stripe gives it; a refund made outside grouport (e.g. in
    Stripe's dashboard) is recorded with its status. When Stripe's total says more went back
    than the refunds listed explain (charges no longer list their refunds by default, and an
    event may be older than what happened since), Stripe's own list of the payment's refunds
    is asked: money is never inferred from a total that may be stale.
    """
    from billing import gateway

    with transaction.atomic():
        payment = _lock_payment(payment.pk)
        # Every refund of the payment at once, in id order (the lock order), before any one.
        lock_payment_refunds(payment.pk)
        for item in (charge.get("refunds") or {}).get("data") or []:
            refund_record_one(payment=payment, item=item)
        payment.refresh_from_db(fields=["amount_refunded"])
        stripe_total = gateway.from_cents(int(charge.get("amount_refunded") or 0))
        if stripe_total > payment.amount_refunded and payment.payment_intent_id:
            for item in gateway.refunds_of(payment_intent_id=payment.payment_intent_id):
                refund_record_one(payment=payment, item=item)


def refund_record_one(*, payment: Payment, item: dict) -> None:
    """One refund as Stripe reports it (in a charge's list, or a refund event): ours or not."""
    from billing.gateway import from_cents

    stripe_id, status = item.get("id"), str(item.get("status") or "succeeded")
    if not stripe_id:
        return
    with transaction.atomic():
        payment = _lock_payment(payment.pk)
        known = Refund.objects.filter(stripe_refund_id=stripe_id).values_list("pk", flat=True).first()
        if known is None:
            ours = _our_refund(payment, (item.get("metadata") or {}).get("refund_id"))
            known = ours.pk if ours is not None else None
        if known is None:
            _record_outside_refund(
                payment,
                from_cents(int(item.get("amount") or 0)),
                key=f"stripe-{stripe_id}",
                stripe_id=stripe_id,
                status=Refund.Status.SUCCEEDED if status in REFUND_BACK else Refund.Status.PENDING,
            )
            if status not in REFUND_NOT_BACK:
                return
            known = Refund.objects.filter(stripe_refund_id=stripe_id).values_list("pk", flat=True).first()
            if known is None:
                return
        refund_provider_status(
            refund_id=known,
            status=status,
            stripe_refund_id=stripe_id,
            failure_reason=str(item.get("failure_reason") or ""),
        )


def _our_refund(payment: Payment, refund_id: object) -> Refund | None:
    try:
        pk = int(refund_id)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    if not Refund.objects.filter(pk=pk, payment=payment).exists():
        return None
    return lock_refund(pk)


def _record_outside_refund(
    payment: Payment, amount: Decimal, *, key: str, stripe_id: str | None, status: str
) -> None:
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
        status=status,
        stripe_refund_id=stripe_id,
    )
    _recount(payment)
    audit_record(actor=None, action="refund.recorded", obj=refund, data={"payment": payment.pk})


# What an attempt's last request left: no answer at all (the same request may go again), or
# an answer Stripe keeps for the key (only a new attempt, with a new key, can do better).
NO_ANSWER = "no answer"


def _attempt_reusable(payment: Payment, now: dt.datetime) -> bool:
    """Whether an open attempt's stored request may simply be sent again.

    Only after no answer: Stripe may or may not have run it, and the same key with the same
    parameters gives back whatever it did. And only while Stripe would still take its
    ``expires_at`` (at least 30 minutes ahead): otherwise the same request is refused.
    """
    params = payment.checkout_params or {}
    expires_at = params.get("expires_at")
    return (
        bool(params and payment.idempotency_key)
        and payment.last_error in ("", NO_ANSWER)
        and isinstance(expires_at, int)
        and expires_at >= int((now + STRIPE_MIN_CHECKOUT_REUSE).timestamp())
    )


def stripe_checkout_start(
    *, reservation: Reservation, now: dt.datetime | None = None, eligibility_asked: bool = False
) -> Payment:
    """Return a Payment with an open Stripe Checkout page for the held ``reservation``.

    The member must still be allowed in from the state on their profile (asked of
    enrollment, under the seat's locks, unless ``eligibility_asked`` says the caller asked a
    moment ago in the same request). The hold and the Checkout page end at the same moment;
    Stripe wants at least 30 minutes, so a shorter hold is first stretched to just over 30
    minutes from now.

    Each attempt stores its idempotency key and the exact parameters it sends. When a try got
    no answer (a timeout, a dropped connection) the next one sends the same request again,
    so Stripe makes one page however often it is tried. When Stripe answered with an error,
    it keeps that answer for the key (a 500 too) and would replay it: the next try is a new
    attempt with a new key, and the earlier attempts are closed, so a member is never sent
    to two pages.
    """
    from billing import gateway

    now = now or timezone.now()
    with transaction.atomic():
        lock_group(reservation.group_id)
        reservation = lock_reservation(reservation.pk)
        reservation_check_payable(
            reservation=reservation, member=reservation.member, now=now, eligibility=not eligibility_asked
        )
        # Locked in id order (the lock order); the newest attempt first.
        open_attempts = sorted(
            lock_payments(
                reservation.payments.filter(provider=Payment.Provider.STRIPE, status=Payment.Status.PENDING)
            ),
            key=lambda attempt: (attempt.created_at, attempt.pk),
            reverse=True,
        )
        current = open_attempts[0] if open_attempts else None
        if current is not None and current.amount != reservation_price(reservation).due:
            # The member changed their fee or code since that page opened: a page for the
            # price due now replaces it.
            current = None
        if current is not None and current.checkout_url:
            return current
        if current is None or not _attempt_reusable(current, now):
            for earlier in open_attempts:
                attempt_abandon(earlier)
            current = _attempt_new(reservation=reservation, now=now)
    try:
        session = gateway.checkout_session_create(params=current.checkout_params, key=current.idempotency_key)
    except stripe.APIConnectionError as exc:
        # No answer: whether Stripe made the page is unknown; the same request, sent again,
        # tells (and makes at most one).
        _attempt_failed(current, NO_ANSWER, exc)
        raise PaymentUnavailable() from exc
    except stripe.StripeError as exc:
        # An answer, kept by Stripe for this key: the next try is a new attempt.
        _attempt_failed(current, f"answered {exc.http_status or 'error'}", exc)
        raise PaymentUnavailable() from exc
    Payment.objects.filter(pk=current.pk).update(
        checkout_session_id=session.id, checkout_url=session.url, last_error=""
    )
    current.refresh_from_db()
    logger.info("checkout %s opened for reservation %s", current.pk, reservation.pk)
    return current


def _priced(reservation: Reservation) -> dict:
    """A new payment's amounts: what is due (the tier chosen and the code applied), the list
    price and discount behind it, and the code (one of its uses)."""
    price = reservation_price(reservation)
    return {
        "reservation": reservation,
        "amount": price.due,
        "list_amount": price.list_price,
        "discount": price.discount,
        "promo": price.promo,
        "currency": reservation.group.currency,
    }


def _attempt_new(*, reservation: Reservation, now: dt.datetime) -> Payment:
    """A new attempt to pay for the locked ``reservation``, with its key and parameters."""
    from billing import gateway

    minimum = now + STRIPE_MIN_CHECKOUT
    if reservation.expires_at < minimum:
        reservation.expires_at = minimum
        reservation.save(update_fields=["expires_at", "updated_at"])
    payment = Payment.objects.create(provider=Payment.Provider.STRIPE, **_priced(reservation))
    payment.idempotency_key = f"grouport-checkout-{payment.pk}"
    payment.checkout_params = gateway.checkout_params(
        reservation=reservation,
        attempt_id=payment.pk,
        amount=payment.amount,
        expires_at=reservation.expires_at,
    )
    payment.save(update_fields=["idempotency_key", "checkout_params", "updated_at"])
    # What is sent is what was stored (jsonb orders keys its own way): every try of this
    # attempt sends the very same request.
    payment.refresh_from_db(fields=["checkout_params"])
    return payment


def _attempt_failed(payment: Payment, outcome: str, exc: Exception) -> None:
    Payment.objects.filter(pk=payment.pk, checkout_url="").update(last_error=outcome[:200])
    logger.warning("checkout %s could not open: %s (%s)", payment.pk, type(exc).__name__, outcome)


def checkouts_close(*, reservation: Reservation) -> int:
    """Record that every open Checkout page for a seat given up must be closed (after commit)."""
    open_ids = list(
        reservation.payments.filter(
            provider=Payment.Provider.STRIPE, status=Payment.Status.PENDING, checkout_session_id__isnull=False
        ).values_list("pk", flat=True)
    )
    for payment_id in open_ids:
        outbox_add(kind="billing.checkout_close", payload={"payment": payment_id}, key=f"close-{payment_id}")
    return len(open_ids)


def refund_everything(*, reservation: Reservation, key: str, reason: str, actor: User | None) -> Decimal:
    """Refund all that is refundable on ``reservation``'s paid payments; return the total."""
    total = Decimal("0.00")
    for payment in lock_payments(reservation.payments.filter(status=Payment.Status.PAID).order_by("pk")):
        if payment.refundable > 0:
            refund = refund_issue(
                payment=payment,
                amount=payment.refundable,
                key=f"{key}-{payment.pk}",
                reason=reason,
                actor=actor,
            )
            total += refund.amount
    return total


def payments_follow_move(*, old: Reservation, new: Reservation) -> int:
    """Carry a moved member's payments over to their new seat; return how many moved."""
    return Payment.objects.filter(reservation=old).update(reservation=new)


def move_refund(*, new: Reservation, amount: Decimal, key: str, actor: User | None) -> Decimal:
    """Refund up to ``amount`` of what was paid for a seat moved to a cheaper group (its
    payments now on ``new``), oldest payment first; each refund once (``key``), sent from the
    outbox after the move commits. Returns what is refunded."""
    left, total = amount, Decimal("0.00")
    # Oldest first: payments are locked in ascending id order (grouport/locks.py).
    for payment in lock_payments(new.payments.filter(status=Payment.Status.PAID).order_by("pk")):
        if left <= 0:
            break
        part = min(left, payment.refundable)
        if part > 0:
            refund_issue(payment=payment, amount=part, key=f"{key}-{payment.pk}", reason="moved", actor=actor)
            left -= part
            total += part
    return total


def payment_processing(reservation: Reservation) -> bool:
    latest = reservation.payments.order_by("-created_at").first()
    return latest is not None and latest.status == Payment.Status.PROCESSING
