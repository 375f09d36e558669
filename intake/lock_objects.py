"""Lock helpers for intake's rows (the order: ``grouport/locks.py``). A screening flag is a
record a clinician decides on, in the place of a seat's records."""

from grouport.locks import lock_row
from intake.models import ScreeningFlag


def lock_screening_flag(flag_id: int) -> ScreeningFlag:
    return lock_row(ScreeningFlag.objects.all(), flag_id, kind="seat_record")
