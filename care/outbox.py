"""How care's side effects are carried out: questionnaire invitations, and safety alerts to
the therapist and the on-call address.

Recorded in the transaction of their cause (``outbox_add``), delivered from
``grouport.outbox``; an email is never sent twice.
"""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db.models import Q
from django.template.loader import render_to_string

from care.links import survey_url
from care.models import AlertPage, OutcomeSurvey, SafetyAlert
from care.oncall import PAGE_MESSAGE, alert_pages_withdraw, alert_url, page_text, page_twiml
from grouport.audit import audit_record
from grouport.emails import email_send
from grouport.outbox import outbox_handler
from texting.models import TextMessage
from texting.services import text_deliver, text_gave_up

WAITING = (TextMessage.Status.QUEUED, TextMessage.Status.SENDING)


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
        "link": alert_url(alert.pk),
        "site_url": settings.SITE_URL,
        "alert": alert,
    }
    subject = render_to_string("emails/safety_alert.subject.txt", context).strip()
    text = render_to_string("emails/safety_alert.txt", context)
    for address in addresses:
        EmailMultiAlternatives(subject=subject, body=text, to=[address]).send()


class EarlierPageInFlight(Exception):
    """An earlier page of the same alert is being sent by another worker: try again shortly,
    so the pages go in order."""


def _page_send(page: AlertPage) -> None:
    alert = page.alert
    for message_id, body in ((page.text_id, page_text(alert)), (page.call_id, page_twiml(alert))):
        if message_id:
            text_deliver(message_id=message_id, body=body, at_most_once=False)


def _page_gave_up(payload: dict, error: str) -> None:
    """Out of tries (the provider down for hours), or the worker died mid-send: the page is
    failed, staff hear it, and the next step pages again all the same."""
    page = AlertPage.objects.filter(pk=payload["page"]).first()
    if page is None:
        return
    for message_id in (page.text_id, page.call_id):
        if message_id:
            text_gave_up(message_id=message_id, error=error)
    audit_record(actor=None, action="safety_alert.page_failed", obj=page.alert, data={"page": page.pk})
    context = {"link": alert_url(page.alert_id), "site_url": settings.SITE_URL, "alert": page.alert}
    subject = render_to_string("emails/page_failed.subject.txt", context).strip()
    text = render_to_string("emails/page_failed.txt", context)
    EmailMultiAlternatives(subject=subject, body=text, to=[settings.CARE_TEAM_EMAIL]).send()


# Not retry_safe (a text cannot be taken back); tried every minute for two hours while the
# provider is down, then failed for staff (who are emailed).
@outbox_handler(PAGE_MESSAGE, max_attempts=120, max_backoff_seconds=60, on_give_up=_page_gave_up)
def alert_page(payload: dict) -> None:
    """Text and call one person paged for an alert, unless someone has taken it meanwhile;
    the alert's earlier pages that are still waiting go first."""
    page = AlertPage.objects.select_related("alert").get(pk=payload["page"])
    if page.alert.status != SafetyAlert.Status.OPEN:
        alert_pages_withdraw(page.alert)
        return
    earlier = (
        AlertPage.objects.filter(alert_id=page.alert_id, pk__lt=page.pk)
        .filter(Q(text__status__in=WAITING) | Q(call__status__in=WAITING))
        .select_related("alert", "text", "call")
        .order_by("pk")
    )
    for before in earlier:
        if TextMessage.Status.SENDING in (
            getattr(before.text, "status", None),
            getattr(before.call, "status", None),
        ):
            raise EarlierPageInFlight
        _page_send(before)
    _page_send(page)
