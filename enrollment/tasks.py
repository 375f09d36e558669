"""Celery tasks of the enrollment app: thin, they load fresh rows and call a service."""

from celery import shared_task
from django.utils import timezone

from enrollment.models import Reservation, WaitlistEntry
from grouport.emails import email_send

EMAIL_RETRY = {
    "autoretry_for": (OSError,),  # smtplib's errors are OSErrors
    "retry_backoff": 30,
    "retry_backoff_max": 600,
    "retry_jitter": True,
    "max_retries": 5,
}


@shared_task(**EMAIL_RETRY)
def send_reservation_email(reservation_id: int, kind: str) -> None:
    from billing.services import payment_paid_amount

    reservation = Reservation.objects.select_related("group", "member", "group__therapist").get(
        pk=reservation_id
    )
    email_send(
        to=reservation.member,
        template=f"reservation_{kind}",
        context={
            "reservation": reservation,
            "group": reservation.group,
            "paid": payment_paid_amount(reservation),
        },
    )


@shared_task(**EMAIL_RETRY)
def send_waitlist_offer_email(entry_id: int) -> None:
    entry = WaitlistEntry.objects.select_related("group", "member", "offer").get(pk=entry_id)
    if entry.status != WaitlistEntry.Status.OFFERED:
        return  # answered or lapsed before the email went out
    email_send(to=entry.member, template="waitlist_offer", context={"entry": entry, "group": entry.group})


@shared_task(acks_late=True)
def refresh_all_seats() -> int:
    """Expire lapsed holds and hand freed seats to waitlists (idempotent: safe to re-run)."""
    from enrollment.services.seats import groups_refresh_seats

    return groups_refresh_seats(now=timezone.now())


@shared_task(acks_late=True)
def send_due_reminders() -> int:
    """Claim the reminders that are due and queue one send each (runs every 5 minutes)."""
    from enrollment.services.reminders import reminders_claim_due, reminders_stalled

    stalled = reminders_stalled(now=timezone.now())
    claimed = reminders_claim_due()
    for reminder_id in [*stalled, *claimed]:
        send_reminder.delay(reminder_id)
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
    import random

    return random.uniform(0, min(cap, base * 2**retries))  # noqa: S311 - jitter, not security
