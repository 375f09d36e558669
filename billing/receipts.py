"""Receipts: what a member can keep, print or give to an employer's benefits plan, for every
payment that went through and every refund that came back.

A receipt names the clinic (``CLINIC_LEGAL_NAME``, ``CLINIC_ADDRESS``, ``CLINIC_TAX_ID``), the
person who paid, a neutral line for what was bought ("Group program, 8 sessions"), the amount,
the date and how it was paid. Nothing clinical: not the group's title (it may say "DBT" or
"depression"), not its therapist, not a diagnosis. Each member sees only their own
(``member_receipts`` starts from their reservations). Numbers are stable: ``P-`` and the
payment's id, ``R-`` and the refund's.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext

from billing.models import Payment, Refund
from grouport.models import User

PAYMENT, REFUND = "payment", "refund"


@dataclass(frozen=True)
class Clinic:
    name: str
    address: tuple[str, ...]
    tax_id: str


def clinic() -> Clinic:
    lines = tuple(part.strip() for part in settings.CLINIC_ADDRESS.split("|") if part.strip())
    return Clinic(settings.CLINIC_LEGAL_NAME, lines, settings.CLINIC_TAX_ID)


@dataclass(frozen=True)
class Receipt:
    kind: str  # PAYMENT or REFUND
    pk: int
    number: str
    issued_at: dt.datetime
    payer: str
    description: str
    amount: Decimal
    currency: str
    method: str
    refers_to: str = ""  # a refund: the payment's receipt number
    refunded: Decimal = Decimal("0.00")  # a payment: refunded so far
    zone: str = "UTC"  # the payer's: the day it was where they are

    @property
    def date(self) -> str:
        return long_date(timezone.localtime(self.issued_at, ZoneInfo(self.zone)).date())


def long_date(day: dt.date) -> str:
    """A date as a receipt writes it, in the active language ("March 3, 2026", "3 de marzo de 2026")."""
    return date_format(day, pgettext("a date on receipts (Django date format)", "F j, Y"))


def program_line(payment: Payment) -> str:
    """What was bought (the program as sold when paid: its weeks and first date), in words that
    say nothing clinical."""
    group = payment.reservation.group
    sessions = payment.program_weeks or group.weeks
    starts_on = payment.program_starts_on or group.starts_on
    return ngettext(
        "Group program, %(count)d session, from %(date)s",
        "Group program, %(count)d sessions, from %(date)s",
        sessions,
    ) % {"count": sessions, "date": long_date(starts_on)}


def _method(payment: Payment) -> str:
    return _("Card") if payment.provider == Payment.Provider.STRIPE else _("Test mode (no money moved)")


def _payer(user: User) -> str:
    return user.get_full_name() or user.email


def payment_receipt(payment: Payment) -> Receipt:
    reservation = payment.reservation
    return Receipt(
        kind=PAYMENT,
        pk=payment.pk,
        number=f"P-{payment.pk:06d}",
        issued_at=payment.paid_at or payment.updated_at,
        payer=_payer(reservation.member),
        description=program_line(payment),
        amount=payment.amount,
        currency=payment.currency.upper(),
        method=_method(payment),
        refunded=payment.amount_refunded,
        zone=reservation.member.zone,
    )


def refund_receipt(refund: Refund) -> Receipt:
    payment = refund.payment
    reservation = payment.reservation
    return Receipt(
        kind=REFUND,
        pk=refund.pk,
        number=f"R-{refund.pk:06d}",
        issued_at=refund.created_at,
        payer=_payer(reservation.member),
        description=program_line(payment),
        amount=refund.amount,
        currency=payment.currency.upper(),
        method=_method(payment),
        refers_to=f"P-{payment.pk:06d}",
        zone=reservation.member.zone,
    )


def _payments(member: User):
    return Payment.objects.filter(reservation__member=member, status=Payment.Status.PAID).select_related(
        "reservation__member", "reservation__group"
    )


def _refunds(member: User):
    return Refund.objects.filter(
        payment__reservation__member=member, status=Refund.Status.SUCCEEDED
    ).select_related("payment__reservation__member", "payment__reservation__group")


def member_receipts(member: User) -> list[Receipt]:
    """Every receipt of ``member``'s, newest first (two queries, however many)."""
    receipts = [payment_receipt(p) for p in _payments(member)]
    receipts += [refund_receipt(r) for r in _refunds(member)]
    return sorted(receipts, key=lambda r: (r.issued_at, r.number), reverse=True)


def member_receipt(member: User, kind: str, pk: int) -> Receipt | None:
    """One of ``member``'s receipts; ``None`` for anyone else's, or money not (yet) moved."""
    if kind == PAYMENT:
        found = _payments(member).filter(pk=pk).first()
        return payment_receipt(found) if found else None
    if kind == REFUND:
        found = _refunds(member).filter(pk=pk).first()
        return refund_receipt(found) if found else None
    return None
