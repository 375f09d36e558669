"""How enrollment's side effects are carried out: emails to members, alerts to the care team.

Each is recorded by a service in the transaction of its cause (``outbox_add``) and
delivered from ``grouport.outbox``. Handlers load fresh rows by id, and a message is never
sent twice (an email is not ``retry_safe``).
"""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import timezone

from enrollment.calendar import CANCEL, PUBLISH, reservation_calendar
from enrollment.join import survey_url
from enrollment.models import OutcomeSurvey, Reservation, ResidenceAlert, SafetyAlert, WaitlistEntry
from enrollment.ports import payment_port
from enrollment.services.eligibility import care_team_addresses
from grouport.emails import email_send
from grouport.models import User
from grouport.outbox import outbox_handler
from grouport.states import STATE_NAMES
from groups.models import GroupSession


def _sessions_to_come(reservation: Reservation) -> list[GroupSession]:
    return list(
        GroupSession.objects.filter(
            group_id=reservation.group_id, status=GroupSession.Status.SCHEDULED, ends_at__gt=timezone.now()
        ).order_by("number")
    )


def _calendar_changes(reservation: Reservation, payload: dict) -> list[tuple[str, bytes, str]]:
    """What a seat's email changes in the member's calendar: a seat that ended takes its
    sessions still to come out (METHOD:CANCEL); a move does that for the old seat and adds
    the new one's."""
    files = []
    kind = payload["kind"]
    if kind == "cancelled":
        ended = _sessions_to_come(reservation)
        if ended:
            files.append(
                (
                    "sessions-cancelled.ics",
                    reservation_calendar(reservation=reservation, sessions=ended, method=CANCEL),
                    "text/calendar; method=CANCEL",
                )
            )
    elif kind == "moved" and payload.get("old"):
        old = Reservation.objects.select_related("member").filter(pk=payload["old"]).first()
        if old is not None and (ended := _sessions_to_come(old)):
            files.append(
                (
                    "sessions-cancelled.ics",
                    reservation_calendar(reservation=old, sessions=ended, method=CANCEL),
                    "text/calendar; method=CANCEL",
                )
            )
        if sessions := _sessions_to_come(reservation):
            files.append(
                (
                    "sessions.ics",
                    reservation_calendar(reservation=reservation, sessions=sessions, method=PUBLISH),
                    "text/calendar; method=PUBLISH",
                )
            )
    return files  # fmt: skip


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
        },
        attachments=_calendar_changes(reservation, payload),
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


@outbox_handler("enrollment.therapist_note")
def therapist_note_email(payload: dict) -> None:
    """Tell a group's therapist something about a session that waits in the admin: a member
    can't make it ("excused"), or one reached the group's attendance rule (to the care team
    too). Like every staff email, it names no member and no diagnosis."""
    session = GroupSession.objects.select_related("group", "group__therapist__user").get(
        pk=payload["session"]
    )
    kind = payload["kind"]
    if kind == "excused":
        link = f"{settings.SITE_URL}/admin/groups/groupsession/{session.pk}/live/"
        addresses = [session.group.therapist.user.email] if session.group.therapist.user.email else []
    else:
        link = f"{settings.SITE_URL}/admin/groups/group/{session.group_id}/roster/"
        addresses = care_team_addresses(session.group)
    context = {
        "kind": kind,
        "link": link,
        "limit": session.group.missed_in_a_row_limit,
        "site_url": settings.SITE_URL,
    }
    subject = render_to_string("emails/therapist_note.subject.txt", context).strip()
    text = render_to_string("emails/therapist_note.txt", context)
    for address in addresses:
        EmailMultiAlternatives(subject=subject, body=text, to=[address]).send()


@outbox_handler("enrollment.survey_invitation")
def survey_invitation_email(payload: dict) -> None:
    """The member's personal link to their questions (the email names no measure and no group)."""
    survey = OutcomeSurvey.objects.select_related("reservation__member", "reservation__group").get(
        pk=payload["survey"]
    )
    if survey.status != OutcomeSurvey.Status.OPEN:
        return
    email_send(
        to=survey.reservation.member,
        template="survey_invitation",
        context={"survey": survey, "link": survey_url(survey.pk), "closes_at": survey.closes_at},
    )


@outbox_handler("enrollment.safety_alert")
def safety_alert_email(payload: dict) -> None:
    """Within a minute of an answer that needs a person: the group's therapist and the on-call
    address, one message each, a link and no clinical detail (the subject shows on lock
    screens)."""
    alert = SafetyAlert.objects.select_related("reservation__group__therapist__user").get(pk=payload["alert"])
    group = alert.reservation.group
    addresses = [group.therapist.user.email] if group.therapist.user.email else []
    if settings.ONCALL_EMAIL and settings.ONCALL_EMAIL not in addresses:
        addresses.append(settings.ONCALL_EMAIL)
    context = {
        "link": f"{settings.SITE_URL}/admin/enrollment/safetyalert/{alert.pk}/change/",
        "site_url": settings.SITE_URL,
        "alert": alert,
    }
    subject = render_to_string("emails/safety_alert.subject.txt", context).strip()
    text = render_to_string("emails/safety_alert.txt", context)
    for address in addresses:
        EmailMultiAlternatives(subject=subject, body=text, to=[address]).send()
