"""How a held seat gets paid for, and billing's side of enrollment's payment port.

The offline provider is the embedded default (no Stripe key): it shows a test-mode pay page.
Stripe Checkout is used whenever a key is configured. Free groups never reach billing:
enrollment confirms them itself.
"""

import datetime as dt
from decimal import Decimal
from typing import Protocol

from django.conf import settings
from django.urls import reverse

from enrollment.models import Reservation
from enrollment.ports import NextAction
from grouport.models import User


class PaymentProvider(Protocol):
    name: str
    test_mode: bool

    def begin(self, *, reservation: Reservation, eligibility_asked: bool = False) -> NextAction:
        """Start paying for a held, attested seat; return where the member pays."""
        ...


class OfflineProvider:
    """Payments without a payment service: local development and demos."""

    name = "offline"
    test_mode = True

    def begin(self, *, reservation: Reservation, eligibility_asked: bool = False) -> NextAction:
        # The pay page asks whether the seat may be paid for when it is opened.
        return NextAction("pay", reverse("billing:pay", args=[reservation.pk]))


class StripeProvider:
    """Stripe Checkout: the member pays on Stripe's hosted page; only the webhook confirms."""

    name = "stripe"
    test_mode = False

    def begin(self, *, reservation: Reservation, eligibility_asked: bool = False) -> NextAction:
        from billing.services import stripe_checkout_start

        payment = stripe_checkout_start(reservation=reservation, eligibility_asked=eligibility_asked)
        return NextAction("pay", payment.checkout_url)


def payment_provider_for(reservation: Reservation) -> PaymentProvider:
    """Return the provider that takes payment for ``reservation``: Stripe whenever a key is
    configured, the offline stand-in otherwise (the pages then say "test mode")."""
    if not settings.STRIPE_SECRET_KEY:
        return OfflineProvider()
    return StripeProvider()


class BillingPaymentPort:
    """Billing's implementation of ``enrollment.ports.PaymentPort``."""

    def checkout_begin(self, *, reservation: Reservation, eligibility_asked: bool = False) -> NextAction:
        from billing.pricing import price_to_choose

        if price_to_choose(reservation):
            # A fee or a code to choose first: the pay page asks, then opens Checkout.
            return NextAction("pay", reverse("billing:pay", args=[reservation.pk]))
        return payment_provider_for(reservation).begin(
            reservation=reservation, eligibility_asked=eligibility_asked
        )

    def minimum_hold(self) -> dt.timedelta:
        if not settings.STRIPE_SECRET_KEY:
            return dt.timedelta(0)
        from billing.services import STRIPE_MIN_CHECKOUT

        return STRIPE_MIN_CHECKOUT

    def pay_url(self, *, reservation: Reservation) -> str:
        return reverse("billing:pay", args=[reservation.pk])

    def checkouts_close(self, *, reservation: Reservation) -> None:
        from billing.services import checkouts_close

        checkouts_close(reservation=reservation)

    def payment_processing(self, *, reservation: Reservation) -> bool:
        from billing.services import payment_processing

        return payment_processing(reservation)

    def paid_amount(self, *, reservation: Reservation) -> Decimal:
        from billing.services import payment_paid_amount

        return payment_paid_amount(reservation)

    def refund_all(self, *, reservation: Reservation, key: str, reason: str, actor: User | None) -> Decimal:
        from billing.services import refund_everything

        return refund_everything(reservation=reservation, key=key, reason=reason, actor=actor)

    def payments_follow_move(self, *, old: Reservation, new: Reservation) -> int:
        from billing.services import payments_follow_move

        return payments_follow_move(old=old, new=new)

    def move_difference(self, *, old: Reservation, to_group) -> Decimal:
        from billing.pricing import move_difference

        return move_difference(old=old, to_group=to_group)

    def least_charge(self) -> Decimal:
        from billing.pricing import MIN_CHARGE

        return MIN_CHARGE

    def move_price_set(
        self,
        *,
        new: Reservation,
        old: Reservation,
        difference: Decimal | None,
        waived: Decimal = Decimal("0"),
    ) -> None:
        from billing.pricing import move_price_set

        move_price_set(new=new, old=old, difference=difference, waived=waived)

    def move_refund(self, *, new: Reservation, amount: Decimal, key: str, actor: User | None) -> Decimal:
        from billing.services import move_refund

        return move_refund(new=new, amount=amount, key=key, actor=actor)
