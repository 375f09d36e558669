"""Lock helpers for care's rows: a seat's own records, after the seat (and its group) and
before waitlist entries (the order: ``grouport/locks.py``)."""

from django.db.models import QuerySet

from care.models import OutcomeSurvey, SafetyAlert
from grouport.locks import lock_row, lock_rows


def lock_survey(survey_id: int) -> OutcomeSurvey:
    return lock_row(OutcomeSurvey.objects.select_related("reservation"), survey_id, kind="seat_record")


def lock_safety_alert(alert_id: int) -> SafetyAlert:
    return lock_row(SafetyAlert.objects.all(), alert_id, kind="seat_record")


def lock_safety_alerts(queryset: QuerySet[SafetyAlert]) -> QuerySet[SafetyAlert]:
    return lock_rows(queryset, kind="seat_record")
