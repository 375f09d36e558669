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
from care.models import AlertPage, OutcomeSurvey, SafetyAlert, SuperbillRequest
from care.oncall import PAGE_BLOCKED, PAGE_MESSAGE, alert_pages_withdraw, alert_url, page_text, page_twiml
from grouport.audit import audit_record
from grouport.emails import email_send
from grouport.outbox import outbox_add, outbox_handler
from groups.selectors import care_team_addresses
from texting.models import TextMessage
from texting.services import text_deliver, text_gave_up, text_reclaim_stalled

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


class PageInFlight(Exception):
    """A text of this page (or of an earlier page to the same phone) is being sent by another
    worker right now: try again shortly, so one person's pages reach them in order."""


def _page_send(page: AlertPage) -> None:
    """The page's text, then its call: the call is tried even when the text fails (a text
    service down is not a voice service down). A text still "sending" long after any try
    could last went down with its worker: it is tried again (pages are at least once)."""
    alert = page.alert
    problem: Exception | None = None
    for message_id, body in ((page.text_id, page_text(alert)), (page.call_id, page_twiml(alert))):
        if not message_id:
            continue
        try:
            if text_reclaim_stalled(message_id=message_id) == TextMessage.Status.SENDING:
                raise PageInFlight
            status = text_deliver(message_id=message_id, body=body, at_most_once=False)
        except Exception as exc:
            problem = problem or exc
            continue
        if status == TextMessage.Status.BLOCKED:
            # The clinician's phone replied STOP: the call still rings it; staff must know.
            outbox_add(kind=PAGE_BLOCKED, payload={"page": page.pk}, key=f"page-blocked-{page.pk}")
    if problem is not None:
        raise problem


def _care_team_told(page: AlertPage, *, stopped: bool) -> None:
    context = {
        "link": alert_url(page.alert_id),
        "site_url": settings.SITE_URL,
        "alert": page.alert,
        "stopped": stopped,
    }
    subject = render_to_string("emails/page_failed.subject.txt", context).strip()
    text = render_to_string("emails/page_failed.txt", context)
    EmailMultiAlternatives(subject=subject, body=text, to=[settings.CARE_TEAM_EMAIL]).send()


def _page_gave_up(payload: dict, error: str) -> None:
    """Out of tries (the provider down for hours), or the worker died mid-send: the page is
    failed, staff hear it, and the next step pages again all the same."""
    page = AlertPage.objects.filter(pk=payload["page"]).select_related("alert").first()
    if page is None:
        return
    for message_id in (page.text_id, page.call_id):
        if message_id:
            text_gave_up(message_id=message_id, error=error)
    audit_record(actor=None, action="safety_alert.page_failed", obj=page.alert, data={"page": page.pk})
    _care_team_told(page, stopped=False)


@outbox_handler(PAGE_BLOCKED)
def page_blocked_email(payload: dict) -> None:
    """A paged clinician's phone replied STOP to our texts: it still gets the calls, but the
    care team should fix the rota (or ask them to text START)."""
    page = AlertPage.objects.select_related("alert").get(pk=payload["page"])
    _care_team_told(page, stopped=True)


# Not retry_safe (a text cannot be taken back); tried every minute for two hours while the
# provider is down, then failed for staff (who are emailed).
@outbox_handler(PAGE_MESSAGE, max_attempts=120, max_backoff_seconds=60, on_give_up=_page_gave_up)
def alert_page(payload: dict) -> None:
    """Text and call one person paged for an alert, unless someone has taken it meanwhile.
    Their earlier pages for it that are still waiting go first: one person's pages reach them
    in order; other people's pages never wait for theirs."""
    page = AlertPage.objects.select_related("alert").get(pk=payload["page"])
    if page.alert.status != SafetyAlert.Status.OPEN:
        alert_pages_withdraw(page.alert)
        return
    earlier = (
        AlertPage.objects.filter(alert_id=page.alert_id, phone=page.phone, pk__lt=page.pk)
        .filter(Q(text__status__in=WAITING) | Q(call__status__in=WAITING))
        .select_related("alert")
        .order_by("pk")
    )
    for before in earlier:
        _page_send(before)
    _page_send(page)


@outbox_handler("care.superbill_requested")
def superbill_requested_email(payload: dict) -> None:
    """Tell the group's therapist and the care team a superbill waits for its diagnosis code:
    a link, no member named."""
    request = SuperbillRequest.objects.select_related("reservation__group__therapist__user").get(
        pk=payload["request"]
    )
    context = {
        "link": f"{settings.SITE_URL}/admin/care/superbillrequest/{request.pk}/change/",
        "site_url": settings.SITE_URL,
    }
    subject = render_to_string("emails/superbill_requested.subject.txt", context).strip()
    text = render_to_string("emails/superbill_requested.txt", context)
    for address in care_team_addresses(request.reservation.group):
        EmailMultiAlternatives(subject=subject, body=text, to=[address]).send()


@outbox_handler("care.superbill_ready")
def superbill_ready_email(payload: dict) -> None:
    request = SuperbillRequest.objects.select_related("reservation__member").get(pk=payload["request"])
    email_send(
        to=request.reservation.member,
        template="superbill_ready",
        context={"path": f"/my/superbills/{request.reservation_id}/"},
    )
