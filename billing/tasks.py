"""Billing tasks: thin wrappers that load rows and call a service, retried with backoff."""

from celery import shared_task
from celery.contrib.django.task import DjangoTask

from billing.models import Payment, Refund
from billing.services import refund_send
from grouport.emails import email_send

RETRY = {"retry_backoff": 30, "retry_backoff_max": 900, "retry_jitter": True, "max_retries": 8}


class RefundTask(DjangoTask):
    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        # Retries are spent: mark it failed and release the amount, so nothing is stuck.
        from billing.services import refund_mark_failed

        refund_mark_failed(refund_id=args[0] if args else kwargs["refund_id"], reason=type(exc).__name__)


@shared_task(base=RefundTask, autoretry_for=(Exception,), acks_late=True, **RETRY)
def send_refund(refund_id: int) -> None:
    # Idempotent: the refund's key goes to Stripe as the idempotency key on every try.
    refund_send(refund=Refund(pk=refund_id))


@shared_task(autoretry_for=(OSError,), **RETRY)
def send_refund_email(refund_id: int) -> None:
    refund = Refund.objects.select_related("payment__reservation__member", "payment__reservation__group").get(
        pk=refund_id
    )
    reservation = refund.payment.reservation
    email_send(
        to=reservation.member,
        template="refund_issued",
        context={"refund": refund, "group": reservation.group, "reservation": reservation},
    )


@shared_task(autoretry_for=(Exception,), **RETRY)
def close_checkout(payment_id: int) -> None:
    """Expire the Stripe Checkout page of a seat that was given up (a late payment is refunded)."""
    from billing.gateway import checkout_session_expire

    payment = Payment.objects.get(pk=payment_id)
    if payment.status == Payment.Status.PENDING and payment.checkout_session_id:
        checkout_session_expire(payment.checkout_session_id)
