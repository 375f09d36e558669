"""Attendance's Celery tasks: thin, they load fresh rows and call a service. Closing ended
sessions, and the reminders (claimed by a periodic job, each sent by its own task)."""

import random

from celery import shared_task
from django.utils import timezone


@shared_task(acks_late=True)
def close_ended_sessions() -> int:
    """Close sessions that have ended: absences marked, misses counted (idempotent)."""
    from attendance.services.attendance import sessions_close

    return sessions_close(now=timezone.now())


@shared_task(acks_late=True)
def send_due_reminders() -> int:
    """Claim the reminders that are due and queue one send each (runs every 5 minutes)."""
    from attendance.services.reminders import reminders_claim_due, reminders_stalled
    from grouport.outbox import publish_safely

    stalled = reminders_stalled(now=timezone.now())
    claimed = reminders_claim_due()
    for reminder_id in [*stalled, *claimed]:
        # A send the broker refuses now is queued again by the next run (reminders_stalled).
        publish_safely("attendance.tasks.send_reminder", (reminder_id,))
    return len(claimed)


@shared_task(bind=True, acks_late=True, max_retries=4)
def send_reminder(self, reminder_id: int) -> str:
    """Send one claimed reminder; on failure retry with bounded exponential backoff and jitter.

    Idempotent by the row's status (acks_late is safe): a re-delivered task sends nothing.
    """
    from attendance.services.reminders import ReminderSendError, reminder_send

    try:
        return reminder_send(reminder_id=reminder_id)
    except ReminderSendError as exc:
        raise self.retry(exc=exc, countdown=retry_delay(self.request.retries)) from exc


def retry_delay(retries: int, *, base: int = 30, cap: int = 600) -> float:
    """Exponential backoff with full jitter, never beyond ``cap`` seconds (< visibility timeout)."""
    return random.uniform(0, min(cap, base * 2**retries))  # noqa: S311 - jitter, not security
