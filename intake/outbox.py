"""Intake's side effects, delivered from ``grouport.outbox``: the care team hears of screening
answers that need a clinician (a link; no name, no answer)."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from grouport.outbox import outbox_handler
from intake.models import ScreeningFlag


@outbox_handler("intake.screening_alert")
def screening_alert_email(payload: dict) -> None:
    flag = ScreeningFlag.objects.get(pk=payload["flag"])
    if flag.status != ScreeningFlag.Status.OPEN or not settings.CARE_TEAM_EMAIL:
        return  # reviewed before the email went out, or nobody to tell (the roster shows it)
    context = {"flag": flag, "site_url": settings.SITE_URL}
    subject = render_to_string("emails/screening_alert.subject.txt", context).strip()
    text = render_to_string("emails/screening_alert.txt", context)
    EmailMultiAlternatives(subject=subject, body=text, to=[settings.CARE_TEAM_EMAIL]).send()
