"""How care's side effects are carried out: questionnaire invitations, and safety alerts to
the therapist and the on-call address.

Recorded in the transaction of their cause (``outbox_add``), delivered from
``grouport.outbox``; an email is never sent twice.
"""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from care.links import survey_url
from care.models import OutcomeSurvey, SafetyAlert
from grouport.emails import email_send
from grouport.outbox import outbox_handler


@outbox_handler("care.survey_invitation")
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


@outbox_handler("care.safety_alert")
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
        "link": f"{settings.SITE_URL}/admin/care/safetyalert/{alert.pk}/change/",
        "site_url": settings.SITE_URL,
        "alert": alert,
    }
    subject = render_to_string("emails/safety_alert.subject.txt", context).strip()
    text = render_to_string("emails/safety_alert.txt", context)
    for address in addresses:
        EmailMultiAlternatives(subject=subject, body=text, to=[address]).send()
