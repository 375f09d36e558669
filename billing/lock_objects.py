"""Lock helpers for billing's rows: after everything of a seat's (the order:
``grouport/locks.py``)."""

from django.db.models import QuerySet

from billing.models import Payment, PromoCode, Refund
from grouport.locks import lock_all, lock_row, lock_rows


def lock_payment(payment_id: int) -> Payment:
    return lock_row(Payment.objects.all(), payment_id, kind="payment")


def lock_payments(queryset: QuerySet[Payment]) -> QuerySet[Payment]:
    return lock_rows(queryset, kind="payment")


def lock_refund(refund_id: int) -> Refund:
    return lock_row(Refund.objects.all(), refund_id, kind="refund")


def lock_refunds(queryset: QuerySet[Refund]) -> QuerySet[Refund]:
    return lock_rows(queryset, kind="refund")


def lock_payment_refunds(payment_id: int) -> list[Refund]:
    """Every refund of one payment, locked now in id order (Stripe lists them newest first)."""
    return lock_all(Refund.objects.filter(payment_id=payment_id), kind="refund")


def lock_promo_code(promo_id: int) -> PromoCode:
    """A promotion code, while a use of it is counted and taken (after the seat's locks)."""
    return lock_row(PromoCode.objects.all(), promo_id, kind="promo_code")
