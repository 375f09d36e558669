"""How seats' side effects are carried out: emails to members, alerts to the care team.

Each is recorded by a service in the transaction of its cause (``outbox_add``) and
delivered from ``grouport.outbox``. Handlers load fresh rows by id, and a message is never
sent twice (an email is not ``retry_safe``).
"""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from enrollment.models import Reservation, ResidenceAlert, WaitlistEntry
from enrollment.ports import payment_port, seat_email_attachments
from grouport.emails import email_send
from grouport.models import User
from grouport.outbox import outbox_handler
from grouport.states import STATE_NAMES
from groups.selectors import care_team_addresses


@outbox_handler("enrollment.reservation_email")
def reservation_email(payload: dict) -> None:
    reservation = Reservation.objects.select_related("group", "member", "group__therapist").get(
        pk=payload["reservation"]
    )
    email_send(
        to=reservation.member,
        template=f"reservation_{payload['kind']}",
        context={
            "reservation": reservation,
            "group": reservation.group,
            "paid": payment_port().paid_amount(reservation=reservation),
            "reason": payload.get("reason", ""),
            "misses": payload.get("misses", 0),
            "difference": payload.get("difference", ""),
            "pay_url": f"{settings.SITE_URL}{payment_port().pay_url(reservation=reservation)}",
        },
        attachments=seat_email_attachments(reservation=reservation, kind=payload["kind"], payload=payload),
    )


@outbox_handler("enrollment.waitlist_offer")
def waitlist_offer_email(payload: dict) -> None:
    entry = WaitlistEntry.objects.select_related("group", "member", "offer").get(pk=payload["entry"])
    if entry.status != WaitlistEntry.Status.OFFERED:
        return  # answered or lapsed before the email went out
    email_send(to=entry.member, template="waitlist_offer", context={"entry": entry, "group": entry.group})


@outbox_handler("enrollment.residence_notice")
def residence_notice_email(payload: dict) -> None:
    member = User.objects.get(pk=payload["member"])
    reservations = Reservation.objects.filter(pk__in=payload["reservations"]).select_related("group")
    entries = WaitlistEntry.objects.filter(pk__in=payload["entries"]).select_related("group")
    email_send(
        to=member,
        template="residence_changed",
        context={
            "place": STATE_NAMES.get(payload["state"], payload["state"]),
            "reservations": list(reservations),
            "entries": list(entries),
        },
    )


@outbox_handler("enrollment.staff_alert")
def staff_alert_email(payload: dict) -> None:
    """Tell the group's therapist and the care team that a flag waits on the roster.

    The subject and body name no member and no diagnosis: a link, and the words a lock
    screen may show to anyone.
    """
    alert = ResidenceAlert.objects.select_related("group", "group__therapist__user").get(pk=payload["alert"])
    context = {
        "alert": alert,
        "roster_url": f"{settings.SITE_URL}/admin/groups/group/{alert.group_id}/roster/",
        "site_url": settings.SITE_URL,
    }
    subject = render_to_string("emails/staff_alert.subject.txt", context).strip()
    text = render_to_string("emails/staff_alert.txt", context)
    for address in care_team_addresses(alert.group):
        # One message per address: no recipient sees another's.
        message = EmailMultiAlternatives(subject=subject, body=text, to=[address])
        message.send()


@outbox_handler("enrollment.review_requested")
def review_requested_email(payload: dict) -> None:
    """Tell the group's therapist and the care team that an intake waits for their review
    (a link; no name, no answer)."""
    reservation = Reservation.objects.select_related("group", "group__therapist__user").get(
        pk=payload["reservation"]
    )
    if reservation.status != Reservation.Status.REVIEW:
        return  # decided (or lapsed) before the email went out
    context = {
        "reservation": reservation,
        "until": reservation.expires_at.strftime("%Y-%m-%d %H:%M"),
        "review_url": f"{settings.SITE_URL}/admin/enrollment/seatreview/{reservation.pk}/change/",
        "site_url": settings.SITE_URL,
    }
    subject = render_to_string("emails/review_requested.subject.txt", context).strip()
    text = render_to_string("emails/review_requested.txt", context)
    for address in care_team_addresses(reservation.group):
        message = EmailMultiAlternatives(subject=subject, body=text, to=[address])
        message.send()


@outbox_handler("enrollment.review_outcome")
def review_outcome_email(payload: dict) -> None:
    """Tell the care team a review ended without a seat (declined, or not made in time): the
    member was told someone would reach out. A link; no name, no answer."""
    reservation = Reservation.objects.select_related("group", "group__therapist__user").get(
        pk=payload["reservation"]
    )
    context = {
        "reservation": reservation,
        "outcome": payload["outcome"],
        "roster_url": f"{settings.SITE_URL}/admin/groups/group/{reservation.group_id}/roster/",
        "site_url": settings.SITE_URL,
    }
    subject = render_to_string("emails/review_outcome.subject.txt", context).strip()
    text = render_to_string("emails/review_outcome.txt", context)
    for address in care_team_addresses(reservation.group):
        EmailMultiAlternatives(subject=subject, body=text, to=[address]).send()
