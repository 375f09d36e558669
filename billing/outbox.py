"""How billing's side effects are carried out: refund requests, closing checkouts, emails.

A refund and closing a checkout are ``retry_safe``: Stripe's idempotency keys make a second
request after a crash harmless. When a refund is given up on, its amount is released so
staff can act (``refund_mark_failed``).
"""

import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from billing.models import AssistanceRequest, Payment, Refund
from billing.services import refund_mark_failed, refund_send
from grouport.emails import email_send
from grouport.outbox import outbox_handler

logger = logging.getLogger(__name__)


def _refund_given_up(payload: dict, error: str) -> None:
    refund_mark_failed(refund_id=payload["refund"], reason=error)


@outbox_handler("billing.refund_send", retry_safe=True, max_attempts=10, on_give_up=_refund_given_up)
def refund_request(payload: dict) -> None:
    refund_send(refund=Refund.objects.get(pk=payload["refund"]))


@outbox_handler("billing.checkout_close", retry_safe=True)
def checkout_close(payload: dict) -> None:
    """Expire the Stripe Checkout page of a seat given up, or of an attempt a newer one
    replaced (a late payment on it is refunded)."""
    import stripe

    from billing.gateway import checkout_session_expire

    payment = Payment.objects.get(pk=payload["payment"])
    if payment.status in (Payment.Status.PENDING, Payment.Status.FAILED) and payment.checkout_session_id:
        try:
            checkout_session_expire(payment.checkout_session_id)
        except stripe.InvalidRequestError:
            # Stripe expires only open pages: this one was completed or had expired already.
            logger.info("checkout %s was no longer open at Stripe", payment.pk)


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


@outbox_handler("billing.refund_failed_alert")
def refund_failed_alert(payload: dict) -> None:
    """Tell the care team a refund did not go through (ids and a link only): a person must
    return the money another way and tell the member."""
    if not settings.CARE_TEAM_EMAIL:
        return
    refund = Refund.objects.get(pk=payload["refund"])
    context = {
        "refund_id": refund.pk,
        "payment_id": refund.payment_id,
        "payment_url": f"{settings.SITE_URL}/admin/billing/payment/{refund.payment_id}/change/",
        "site_url": settings.SITE_URL,
    }
    EmailMultiAlternatives(
        subject=render_to_string("emails/refund_failed_alert.subject.txt", context).strip(),
        body=render_to_string("emails/refund_failed_alert.txt", context),
        to=[settings.CARE_TEAM_EMAIL],
    ).send()


@outbox_handler("billing.assistance_answer")
def assistance_answer_email(payload: dict) -> None:
    """Tell the member staff answered their request (no amounts of theirs, no income)."""
    request = AssistanceRequest.objects.select_related("member", "group").get(pk=payload["request"])
    email_send(
        to=request.member,
        template="assistance_answer",
        context={"granted": request.status == AssistanceRequest.Status.GRANTED, "group": request.group},
    )
