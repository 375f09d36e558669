"""Seats' periodic job: thin, it calls a service (emails are outbox messages,
``enrollment/outbox.py``, delivered by ``grouport.tasks``)."""

from celery import shared_task
from django.utils import timezone


@shared_task(acks_late=True)
def refresh_all_seats() -> int:
    """Expire lapsed holds and hand freed seats to waitlists (idempotent: safe to re-run)."""
    from enrollment.services.seats import groups_refresh_seats

    return groups_refresh_seats(now=timezone.now())
