"""What seats need from the parts above them, as ports those parts fill in when they start:
payments (billing), and the calendar files a seat's email carries (attendance).

Enrollment decides every seat: hold, confirm, cancel with the refund policy, "a payment
arrived", move. It does not know how money is taken or returned. It asks through this
small interface, which billing implements and installs when it starts
(``BillingConfig.ready``), the way pretix's orders hear from payment providers without
importing them. Every method that causes an effect outside the database (a refund, a
checkout page closed) records it durably in the caller's transaction (the outbox).
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

from django.core.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from enrollment.models import Reservation
    from grouport.models import User
    from groups.models import Group


@dataclass(frozen=True)
class NextAction:
    """What the member does next: ``confirmed`` (nothing to do), ``pay`` or ``accept_offer``
    at ``url``, or after a hold lapsed ``reserve`` again or join the ``waitlist``."""

    type: str
    url: str
    # The payment service did not answer just now: a page should say so at once rather than
    # send the member where the same wait begins again.
    unavailable: bool = False

    def as_dict(self) -> dict[str, str]:
        return {"type": self.type, "url": self.url}


class PaymentUnavailable(Exception):
    """The payment service could not be reached: the seat stays held; the member tries again."""


class PaymentPort(Protocol):
    def minimum_hold(self) -> dt.timedelta:
        """The shortest hold the payment service accepts for a checkout page (Stripe's 30
        minutes and a margin), zero when it has none: a paid seat is held at least this long,
        so the reserve page can say the truth."""
        ...

    def checkout_begin(self, *, reservation: "Reservation", eligibility_asked: bool = False) -> NextAction:
        """Start paying for a held, attested seat in a paid group; return where to pay.

        ``eligibility_asked``: the caller asked the rule a moment ago in this request (the
        hold is still checked). Raise ``PaymentUnavailable`` when the payment service cannot
        be reached.
        """
        ...

    def pay_url(self, *, reservation: "Reservation") -> str:
        """Return the page where the member pays for a held seat."""
        ...

    def checkouts_close(self, *, reservation: "Reservation") -> None:
        """Close any open checkout for a seat given up (durably, after the commit)."""
        ...

    def payment_processing(self, *, reservation: "Reservation") -> bool:
        """Return whether a payment for the seat is under way and not yet confirmed."""
        ...

    def paid_amount(self, *, reservation: "Reservation") -> Decimal:
        """Return the money received for the seat and not refunded."""
        ...

    def refund_all(
        self, *, reservation: "Reservation", key: str, reason: str, actor: "User | None"
    ) -> Decimal:
        """Refund everything still refundable on the seat, once per ``key``; return the amount.

        Call it inside the transaction that decided the refund: the refund is recorded there
        and sent to the provider after the commit.
        """
        ...

    def payments_follow_move(self, *, old: "Reservation", new: "Reservation") -> int:
        """Carry the payments of a seat moved to another group over to the new seat (inside
        the move's transaction); return how many moved."""
        ...

    def move_difference(self, *, old: "Reservation", to_group: "Group") -> Decimal:
        """What moving ``old``'s member to ``to_group`` costs more (positive) or less
        (negative): the two groups' fees for them (their fee tier where both offer it)."""
        ...

    def least_charge(self) -> Decimal:
        """The least a payment can be (Stripe's): a smaller difference is waived, not asked."""
        ...

    def move_price_set(
        self,
        *,
        new: "Reservation",
        old: "Reservation",
        difference: Decimal | None,
        waived: Decimal = Decimal("0"),
    ) -> None:
        """Record what the moved seat ``new`` costs: the difference still to pay (a held move),
        or, ``None``, the new group's fee for them (a move done at once)."""
        ...

    def move_refund(self, *, new: "Reservation", amount: Decimal, key: str, actor: "User | None") -> Decimal:
        """Refund up to ``amount`` of what was paid for the seat, now on ``new`` (a move to a
        cheaper group), through the outbox; return what is refunded."""
        ...


_port: PaymentPort | None = None


def payment_port_provide(port: PaymentPort) -> None:
    global _port
    _port = port


def payment_port() -> PaymentPort:
    if _port is None:
        raise ImproperlyConfigured("No app provides payments (is billing installed?).")
    return _port


# --- What a seat's email carries from the sessions part: the calendar changes.

# (filename, content, MIME type): what the sessions part attaches to an email about a seat.
Attachment = tuple[str, bytes, str]
_seat_email_attachments: "list[SeatEmailAttachments]" = []


class SeatEmailAttachments(Protocol):
    def __call__(self, *, reservation: "Reservation", kind: str, payload: dict) -> list[Attachment]:
        """Files for the email about ``reservation`` (``kind``: cancelled, moved...)."""
        ...


def seat_email_attachments_provide(provider: SeatEmailAttachments) -> None:
    """Sessions (attendance) fill this in when they start: a seat's email then carries the
    calendar changes (a seat that ended takes its sessions out)."""
    _seat_email_attachments[:] = [provider]


def seat_email_attachments(*, reservation: "Reservation", kind: str, payload: dict) -> list[Attachment]:
    if not _seat_email_attachments:
        return []
    return _seat_email_attachments[0](reservation=reservation, kind=kind, payload=payload)
