"""How billing's side effects are carried out: refund requests, closing checkouts, emails.

A refund and closing a checkout are ``retry_safe``: Stripe's idempotency keys make a second
request after a crash harmless. When a refund is given up on, its amount is released so
staff can act (``refund_mark_failed``).
"""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from billing.models import Payment, Refund
from billing.services import refund_mark_failed, refund_send
from grouport.emails import email_send
from grouport.outbox import outbox_handler


def _refund_given_up(payload: dict, error: str) -> None:
    refund_mark_failed(refund_id=payload["refund"], reason=error)


@outbox_handler("billing.refund_send", retry_safe=True, max_attempts=10, on_give_up=_refund_given_up)
def refund_request(payload: dict) -> None:
    refund_send(refund=Refund.objects.get(pk=payload["refund"]))


@outbox_handler("billing.checkout_close", retry_safe=True)
def checkout_close(payload: dict) -> None:
    """Expire the Stripe Checkout page of a seat that was given up (a late payment is refunded)."""
    from billing.gateway import checkout_session_expire

    payment = Payment.objects.get(pk=payload["payment"])
    if payment.status == Payment.Status.PENDING and payment.checkout_session_id:
        checkout_session_expire(payment.checkout_session_id)


@outbox_handler("billing.refund_email")
def refund_email(payload: dict) -> None:
    refund = Refund.objects.select_related("payment__reservation__member", "payment__reservation__group").get(
        pk=payload["refund"]
    )
    reservation = refund.payment.reservation
    email_send(
        to=reservation.member,
        template="refund_issued",
        context={"refund": refund, "group": reservation.group, "reservation": reservation},
    )


@outbox_handler("billing.dispute_alert")
def dispute_alert(payload: dict) -> None:
    """Tell the care team a payment is disputed (ids and a link only)."""
    if not settings.CARE_TEAM_EMAIL:
        return
    context = {
        "payment_id": payload["payment"],
        "payment_url": f"{settings.SITE_URL}/admin/billing/payment/{payload['payment']}/change/",
        "site_url": settings.SITE_URL,
    }
    message = EmailMultiAlternatives(
        subject=render_to_string("emails/dispute_alert.subject.txt", context).strip(),
        body=render_to_string("emails/dispute_alert.txt", context),
        to=[settings.CARE_TEAM_EMAIL],
    )
    message.send()
