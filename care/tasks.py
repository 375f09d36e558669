"""Care's periodic job: thin, it calls a service."""

from celery import shared_task
from django.utils import timezone


@shared_task(acks_late=True)
def open_outcome_questionnaires() -> int:
    """Close unanswered questionnaires past their time; open (and email) the due ones."""
    from care.services import surveys_expire, surveys_schedule

    now = timezone.now()
    surveys_expire(now=now)
    return len(surveys_schedule(now=now))


@shared_task(acks_late=True)
def escalate_safety_alerts() -> int:
    """Page the next people for every safety alert nobody has taken in time."""
    from care.oncall import alerts_escalate

    return alerts_escalate()
