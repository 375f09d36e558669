"""Celery tasks of the enrollment app: thin, they load fresh rows and call a service.

Emails about seats are outbox messages (``enrollment/outbox.py``), delivered by
``grouport.tasks``; what is left here are the periodic jobs and the reminder sends.
"""

import random

from celery import shared_task
from django.utils import timezone


@shared_task(acks_late=True)
def refresh_all_seats() -> int:
    """Expire lapsed holds and hand freed seats to waitlists (idempotent: safe to re-run)."""
    from enrollment.services.seats import groups_refresh_seats

    return groups_refresh_seats(now=timezone.now())


@shared_task(acks_late=True)
def close_ended_sessions() -> int:
    """Close sessions that have ended: absences marked, misses counted (idempotent)."""
    from enrollment.services.attendance import sessions_close

    return sessions_close(now=timezone.now())


@shared_task(acks_late=True)
def open_outcome_questionnaires() -> int:
    """Close unanswered questionnaires past their time; open (and email) the due ones."""
    from enrollment.services.outcomes import surveys_expire, surveys_schedule

    now = timezone.now()
    surveys_expire(now=now)
    return len(surveys_schedule(now=now))


@shared_task(acks_late=True)
def send_due_reminders() -> int:
    """Claim the reminders that are due and queue one send each (runs every 5 minutes)."""
    from enrollment.services.reminders import reminders_claim_due, reminders_stalled
    from grouport.outbox import publish_safely

    stalled = reminders_stalled(now=timezone.now())
    claimed = reminders_claim_due()
    for reminder_id in [*stalled, *claimed]:
        # A send the broker refuses now is queued again by the next run (reminders_stalled).
        publish_safely("enrollment.tasks.send_reminder", (reminder_id,))
    return len(claimed)


@shared_task(bind=True, acks_late=True, max_retries=4)
def send_reminder(self, reminder_id: int) -> str:
    """Send one claimed reminder; on failure retry with bounded exponential backoff and jitter.

    Idempotent by the row's status (acks_late is safe): a re-delivered task sends nothing.
    """
    from enrollment.services.reminders import ReminderSendError, reminder_send

    try:
        return reminder_send(reminder_id=reminder_id)
    except ReminderSendError as exc:
        raise self.retry(exc=exc, countdown=retry_delay(self.request.retries)) from exc


def retry_delay(retries: int, *, base: int = 30, cap: int = 600) -> float:
    """Exponential backoff with full jitter, never beyond ``cap`` seconds (< visibility timeout)."""
    return random.uniform(0, min(cap, base * 2**retries))  # noqa: S311 - jitter, not security
