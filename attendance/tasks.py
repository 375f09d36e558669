"""Attendance's Celery tasks: thin, they load fresh rows and call a service. Closing ended
sessions, and claiming the reminders that are due (each is then an outbox message)."""

from celery import shared_task
from django.utils import timezone


@shared_task(acks_late=True)
def close_ended_sessions() -> int:
    """Close sessions that have ended: absences marked, misses counted (idempotent)."""
    from attendance.services.attendance import sessions_close

    return sessions_close(now=timezone.now())


@shared_task(acks_late=True)
def send_due_reminders() -> int:
    """Claim the reminders that are due; each goes out through the outbox (every 5 minutes)."""
    from attendance.services.reminders import reminders_claim_due

    return len(reminders_claim_due())
