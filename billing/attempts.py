"""Closing a Checkout attempt that another replaces (a newer attempt, or a changed price)."""

from billing.lock_objects import lock_payments
from billing.models import Payment
from grouport.outbox import outbox_add
from grouport.transitions import transition


def attempt_abandon(payment: Payment) -> None:
    """Close an attempt a newer one replaces (locked): its page, if we know of one, expires."""
    transition(
        payment, to=Payment.Status.FAILED, data={"reservation": payment.reservation_id, "replaced": True}
    )
    if payment.checkout_session_id:
        outbox_add(kind="billing.checkout_close", payload={"payment": payment.pk}, key=f"close-{payment.pk}")


def attempts_close_open(reservation) -> int:
    """Close every open Checkout attempt of ``reservation`` (the caller holds its lock; the
    attempts are locked here, in id order): its price changed, and a page opened at the old
    price must not be paid. Returns how many."""
    pending = reservation.payments.filter(provider=Payment.Provider.STRIPE, status=Payment.Status.PENDING)
    if not pending.exists():  # nothing to close: no payment's lock taken
        return 0
    open_attempts = list(lock_payments(pending.order_by("pk")))
    for attempt in open_attempts:
        attempt_abandon(attempt)
    return len(open_attempts)
