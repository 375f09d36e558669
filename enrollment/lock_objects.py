"""Lock helpers for seats' rows (the order: ``grouport/locks.py``).

A seat's own records (here its residence alerts; attendance and care keep theirs) share one
place in the order: after the seat (and its group), before waitlist entries.
"""

from django.db.models import QuerySet

from enrollment.models import Reservation, ResidenceAlert, WaitlistEntry
from grouport.locks import lock_row, lock_rows


def lock_reservation(reservation_id: int) -> Reservation:
    return lock_row(Reservation.objects.all(), reservation_id, kind="reservation")


def lock_reservations(queryset: QuerySet[Reservation]) -> QuerySet[Reservation]:
    return lock_rows(queryset, kind="reservation")


def lock_waitlist_entry(entry_id: int) -> WaitlistEntry:
    return lock_row(WaitlistEntry.objects.all(), entry_id, kind="waitlist_entry")


def lock_waitlist_entries(queryset: QuerySet[WaitlistEntry]) -> QuerySet[WaitlistEntry]:
    return lock_rows(queryset, kind="waitlist_entry")


def lock_residence_alert(alert_id: int) -> ResidenceAlert:
    return lock_row(ResidenceAlert.objects.all(), alert_id, kind="seat_record")
