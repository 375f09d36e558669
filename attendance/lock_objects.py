"""Lock helpers for attendance's rows: a seat's own records, after the seat (and its group)
and before waitlist entries (the order: ``grouport/locks.py``)."""

from django.db.models import QuerySet

from attendance.models import Attendance, AttendanceFlag, Reminder
from grouport.locks import lock_row, lock_rows


def lock_attendance(queryset: QuerySet[Attendance]) -> QuerySet[Attendance]:
    return lock_rows(queryset, kind="seat_record")


def lock_attendance_flag(flag_id: int) -> AttendanceFlag:
    return lock_row(
        AttendanceFlag.objects.select_related("reservation", "session"), flag_id, kind="seat_record"
    )


def lock_attendance_flags(queryset: QuerySet[AttendanceFlag]) -> QuerySet[AttendanceFlag]:
    return lock_rows(queryset, kind="seat_record")


def lock_reminder(queryset: QuerySet[Reminder], reminder_id: int) -> Reminder:
    """One reminder, with what its send reads joined (only the reminder's row is locked)."""
    return lock_row(queryset, reminder_id, kind="seat_record")
