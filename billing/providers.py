"""How a held seat gets paid for: a small interface with one provider per way of paying.

The offline provider is the embedded default (no Stripe key) and handles free groups; it
confirms a free seat at once and shows a test-mode pay page for a paid one.
"""

from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.urls import reverse

from enrollment.models import Reservation


@dataclass(frozen=True)
class NextAction:
    """What the member does next: ``confirmed`` (nothing to pay) or ``pay`` at ``url``."""

    type: str
    url: str

    def as_dict(self) -> dict[str, str]:
        return {"type": self.type, "url": self.url}


class PaymentProvider(Protocol):
    name: str
    test_mode: bool

    def begin(self, *, reservation: Reservation) -> NextAction:
        """Start paying for a held reservation (or confirm it when nothing is owed)."""
        ...


class OfflineProvider:
    """Payments without a payment service: free groups, local development and demos."""

    name = "offline"
    test_mode = True

    def begin(self, *, reservation: Reservation) -> NextAction:
        from enrollment.services.reservations import reservation_confirm

        page = reverse("enrollment:reservation", args=[reservation.pk])
        if reservation.group.is_free:
            reservation_confirm(reservation=reservation, actor=reservation.member)
            return NextAction("confirmed", page)
        return NextAction("pay", reverse("enrollment:pay", args=[reservation.pk]))


class StripeProvider:
    """Stripe Checkout: the member pays on Stripe's hosted page; only the webhook confirms."""

    name = "stripe"
    test_mode = False

    def begin(self, *, reservation: Reservation) -> NextAction:
        from billing.services import stripe_checkout_start

        payment = stripe_checkout_start(reservation=reservation)
        return NextAction("pay", payment.checkout_url)


def payment_provider_for(reservation: Reservation) -> PaymentProvider:
    """Return the provider that takes payment for ``reservation``.

    Stripe whenever a key is configured; the offline stand-in for free groups and for the
    key-less embedded default (the pages then say "test mode").
    """
    if reservation.group.is_free or not settings.STRIPE_SECRET_KEY:
        return OfflineProvider()
    return StripeProvider()


def describe_next_action(reservation: Reservation) -> NextAction | None:
    """Return the member's next step for ``reservation`` without changing anything."""
    if reservation.status != Reservation.Status.HELD:
        return None
    if reservation.attested_at is None:
        # A waitlist offer: accept it (with the attestations) first.
        entry = getattr(reservation, "waitlist_entry", None)
        if entry is None:
            return None
        return NextAction("accept_offer", reverse("enrollment:offer_accept", args=[entry.pk]))
    return NextAction("pay", reverse("enrollment:pay", args=[reservation.pk]))
