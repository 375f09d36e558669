"""Lock helpers for enrollment's rows (the order: ``grouport/locks.py``).

A seat's own records (attendance, attendance flags, residence and safety alerts,
questionnaires, reminders) share one place in the order: after the seat (and its group),
before waitlist entries.
"""

from django.db.models import QuerySet

from enrollment.models import (
    Attendance,
    AttendanceFlag,
    OutcomeSurvey,
    Reminder,
    Reservation,
    ResidenceAlert,
    SafetyAlert,
    WaitlistEntry,
)
from grouport.locks import lock_row, lock_rows


def lock_reservation(reservation_id: int) -> Reservation:
    return lock_row(Reservation.objects.all(), reservation_id, kind="reservation")


def lock_reservations(queryset: QuerySet[Reservation]) -> QuerySet[Reservation]:
    return lock_rows(queryset, kind="reservation")


def lock_waitlist_entry(entry_id: int) -> WaitlistEntry:
    return lock_row(WaitlistEntry.objects.all(), entry_id, kind="waitlist_entry")


def lock_waitlist_entries(queryset: QuerySet[WaitlistEntry]) -> QuerySet[WaitlistEntry]:
    return lock_rows(queryset, kind="waitlist_entry")


def lock_attendance(queryset: QuerySet[Attendance]) -> QuerySet[Attendance]:
    return lock_rows(queryset, kind="seat_record")


def lock_attendance_flag(flag_id: int) -> AttendanceFlag:
    return lock_row(
        AttendanceFlag.objects.select_related("reservation", "session"), flag_id, kind="seat_record"
    )


def lock_attendance_flags(queryset: QuerySet[AttendanceFlag]) -> QuerySet[AttendanceFlag]:
    return lock_rows(queryset, kind="seat_record")


def lock_residence_alert(alert_id: int) -> ResidenceAlert:
    return lock_row(ResidenceAlert.objects.all(), alert_id, kind="seat_record")


def lock_survey(survey_id: int) -> OutcomeSurvey:
    return lock_row(OutcomeSurvey.objects.select_related("reservation"), survey_id, kind="seat_record")


def lock_safety_alert(alert_id: int) -> SafetyAlert:
    return lock_row(SafetyAlert.objects.all(), alert_id, kind="seat_record")


def lock_safety_alerts(queryset: QuerySet[SafetyAlert]) -> QuerySet[SafetyAlert]:
    return lock_rows(queryset, kind="seat_record")


def lock_reminder(queryset: QuerySet[Reminder], reminder_id: int) -> Reminder:
    """One reminder, with what its send reads joined (only the reminder's row is locked)."""
    return lock_row(queryset, reminder_id, kind="seat_record")
