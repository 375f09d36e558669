"""Delivery of the outbox: thin tasks that call ``grouport.outbox``."""

from celery import shared_task

from grouport.outbox import outbox_deliver, outbox_sweep


@shared_task(acks_late=True, ignore_result=True)
def deliver_outbox_message(message_id: int) -> str | None:
    """Deliver one outbox message (queued on commit). Safe to run twice: the row is claimed."""
    return outbox_deliver(message_id=message_id)


@shared_task(acks_late=True, ignore_result=True)
def expire_api_tokens() -> int:
    """Delete expired API tokens (knox did it on every request; this runs hourly)."""
    from grouport.authentication import tokens_expire

    return tokens_expire()


@shared_task(acks_late=True, ignore_result=True)
def sweep_outbox() -> int:
    """Deliver every due message the queue missed (runs every minute)."""
    return outbox_sweep()
