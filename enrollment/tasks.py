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
