"""Attendance: the therapist's marks, closing a session, the group's attendance rule."""

import datetime as dt
import logging

from django.db import IntegrityError, transaction
from django.utils import timezone

from attendance.lock_objects import lock_attendance, lock_attendance_flags
from attendance.models import Attendance, AttendanceFlag, CheckIn, SessionClosing
from enrollment.lock_objects import lock_reservation
from enrollment.models import Reservation
from grouport.audit import audit_record
from grouport.exceptions import InvalidInput
from grouport.models import User
from grouport.outbox import outbox_add
from grouport.transitions import transition
from groups.lock_objects import lock_group
from groups.models import GroupSession

logger = logging.getLogger(__name__)


def attendance_mark(
    *, session: GroupSession, marks: dict[int, str], actor: User, request=None
) -> list[Attendance]:
    """Record attendance for a session's roster in one go; one audit entry per row changed.

    ``marks`` maps reservation ids to present/absent/excused. Only confirmed seats in the
    session's own group can be marked.
    """
    valid = set(Attendance.Status.values)
    if bad := {status for status in marks.values() if status not in valid}:
        raise InvalidInput(f"Unknown attendance status: {', '.join(sorted(bad))}.", code="invalid_attendance")
    roster = set(
        Reservation.objects.filter(
            group_id=session.group_id, pk__in=marks, status=Reservation.Status.CONFIRMED
        ).values_list("pk", flat=True)
    )
    if stray := set(marks) - roster:
        raise InvalidInput(
            f"These reservations are not on this session's roster: {sorted(stray)}.", code="not_on_roster"
        )
    now = timezone.now()
    changed = []
    with transaction.atomic():
        existing = {
            a.reservation_id: a
            for a in lock_attendance(Attendance.objects.filter(session=session, reservation_id__in=marks))
        }
        for reservation_id, status in sorted(marks.items()):
            row = existing.get(reservation_id)
            if row is not None and row.status == status:
                continue
            before = row.status if row else None
            if row is None:
                row = Attendance.objects.create(
                    session=session,
                    reservation_id=reservation_id,
                    status=status,
                    source=Attendance.Source.THERAPIST,
                    marked_by=actor,
                    marked_at=now,
                )
            else:
                # The therapist's word wins over a check-in or the closing sweep, on the live
                # view as on the sheet. One audit entry per change, "attendance.marked" below.
                row.marked_by, row.marked_at, row.source = actor, now, Attendance.Source.THERAPIST
                transition(row, to=status, fields=("marked_by", "marked_at", "source"), audit=False)
            audit_record(
                actor=actor,
                action="attendance.marked",
                obj=row,
                data={"session": session.pk, "reservation": reservation_id, "from": before, "to": status},
                request=request,
            )
            if status == Attendance.Status.PRESENT:
                attendance_flags_settle(
                    reservation_id=reservation_id,
                    actor=actor,
                    note=f"Came to week {session.number}.",
                    max_misses=None,
                    below_limit=True,
                    attended=session,
                )
            changed.append(row)
    logger.info("session %s: %d attendance rows changed", session.pk, len(changed))
    return changed


# --- Closing a session, and the group's attendance rule


def sessions_close(*, now: dt.datetime | None = None) -> int:
    """Close every session that has ended and is not closed yet; return how many.

    Closing marks absent whoever had a confirmed seat during it and neither checked in nor
    said they could not come (the therapist may still correct it), then counts each of
    those members' sessions missed in a row. Each session closes once, whichever worker
    gets to it first, and a late run (a worker that was down) closes what it missed.
    """
    now = now or timezone.now()
    closed = 0
    due = (
        GroupSession.objects.filter(status=GroupSession.Status.SCHEDULED, ends_at__lte=now)
        .exclude(closing__isnull=False)
        .select_related("group")
        .order_by("ends_at")
    )
    for session in due[:500]:
        if session_close(session=session, now=now):
            closed += 1
    return closed


def session_close(*, session: GroupSession, now: dt.datetime) -> bool:
    """Close one ended session (see ``sessions_close``); False if it was closed already."""
    with transaction.atomic():
        try:
            with transaction.atomic():
                SessionClosing.objects.create(session=session, closed_at=now)
        except IntegrityError:
            return False  # another worker closed it
        members = list(
            Reservation.objects.filter(
                group_id=session.group_id,
                status=Reservation.Status.CONFIRMED,
                confirmed_at__lt=session.ends_at,
            ).select_related("group", "member")
        )
        marked = set(
            Attendance.objects.filter(session=session, reservation__in=members).values_list(
                "reservation_id", flat=True
            )
        )
        # Someone who tried to join from a state where the therapist may not treat them came,
        # as far as they could: excused, not a miss without notice (the roster shows the try).
        tried = set(
            CheckIn.objects.filter(session=session, reservation__in=members, admitted=False).values_list(
                "reservation_id", flat=True
            )
        )
        Attendance.objects.bulk_create(
            [
                Attendance(
                    session=session,
                    reservation=r,
                    status=Attendance.Status.EXCUSED if r.pk in tried else Attendance.Status.ABSENT,
                    source=Attendance.Source.CHECK_IN_REFUSED
                    if r.pk in tried
                    else Attendance.Source.SESSION_CLOSED,
                    marked_at=now,
                )
                for r in members
                if r.pk not in marked
            ]
        )
        for reservation in members:
            attendance_rule_apply(reservation=reservation, session=session, now=now)
    return True


def misses_in_a_row(*, reservation: Reservation, until: GroupSession) -> int:
    """Sessions of the group the member missed without notice, in a row, up to ``until``.

    Counted back from ``until`` over the sessions held while they had the seat: absent adds
    one; present, excused (they told us) or not marked ends the count. Cancelled sessions
    are skipped.
    """
    sessions = list(
        GroupSession.objects.filter(
            group_id=reservation.group_id,
            status=GroupSession.Status.SCHEDULED,
            number__lte=until.number,
            ends_at__gt=reservation.confirmed_at or until.ends_at,
        )
        .order_by("-number")
        .values_list("pk", flat=True)
    )
    marks = dict(
        Attendance.objects.filter(reservation=reservation, session_id__in=sessions).values_list(
            "session_id", "status"
        )
    )
    count = 0
    for session_id in sessions:
        if marks.get(session_id) != Attendance.Status.ABSENT:
            break
        count += 1
    return count


def attendance_rule_apply(
    *, reservation: Reservation, session: GroupSession, now: dt.datetime
) -> AttendanceFlag | None:
    """After ``session`` closes: at the group's limit minus 2 and minus 1 misses in a row, a
    caring email to the member and a note on the roster; at the limit, a decision on the
    roster for the therapist or staff. Nothing here ends a seat."""
    limit = reservation.group.missed_in_a_row_limit
    misses = misses_in_a_row(reservation=reservation, until=session)
    if misses < max(1, limit - 2):
        return None
    if (
        misses >= limit
        and AttendanceFlag.objects.filter(
            reservation=reservation, status=AttendanceFlag.Status.OPEN, misses__gte=limit
        ).exists()
    ):
        return None  # the decision is already on the roster
    flag, created = AttendanceFlag.objects.get_or_create(
        reservation=reservation,
        session=session,
        defaults={"misses": misses, "limit": limit, "created_at": now},
    )
    if not created:
        return flag
    audit_record(
        actor=None,
        action="attendance.flagged",
        obj=flag,
        data={"reservation": reservation.pk, "session": session.pk, "misses": misses, "limit": limit},
    )
    # One line per member on the roster: this step supersedes the earlier notes of the run.
    attendance_flags_settle(
        reservation_id=reservation.pk,
        actor=None,
        note=f"Followed by {misses} missed in a row.",
        max_misses=misses - 1,
        below_limit=True,
    )
    if misses < limit:
        outbox_add(
            kind="enrollment.reservation_email",
            payload={"reservation": reservation.pk, "kind": "missed", "misses": misses},
            key=f"missed-{reservation.pk}-{session.pk}",
        )
    else:
        outbox_add(
            kind="attendance.therapist_note",
            payload={"session": session.pk, "kind": "attendance_rule"},
            key=f"attendance-rule-{reservation.pk}-{session.pk}",
        )
    logger.info("reservation %s: %d sessions missed in a row (limit %d)", reservation.pk, misses, limit)
    return flag


def attendance_flag_review(
    *, flag: AttendanceFlag, actor: User, note: str, end_seat: bool, request=None
) -> AttendanceFlag:
    """A clinician's decision on a flag: reviewed (the seat stays), or, at the group's limit,
    the seat ended under the attendance rule. Only a person does this.

    Locks go in the one order (``grouport/locks.py``): the group and the seat first, as the
    member's own "cancel" takes them, then the seat's flags; ending the seat (which offers it
    to the waitlist and refunds it) comes last. So a therapist ending a seat while its member
    cancels it queue on the group: one goes first, the other finds the seat ended.
    """
    from enrollment.services.reservations import reservation_cancel

    with transaction.atomic():
        reservation_id, group_id = AttendanceFlag.objects.values_list(
            "reservation_id", "reservation__group_id"
        ).get(pk=flag.pk)
        lock_group(group_id)
        reservation = lock_reservation(reservation_id)
        flags = {
            f.pk: f
            for f in lock_attendance_flags(AttendanceFlag.objects.filter(reservation_id=reservation_id))
        }
        flag = flags[flag.pk]
        if flag.status != AttendanceFlag.Status.OPEN:
            return flag
        if end_seat and not flag.limit_reached:
            raise InvalidInput(
                "The attendance rule has not been reached: mark it reviewed instead.", code="rule_not_reached"
            )
        flag.reviewed_by, flag.reviewed_at, flag.review_note = actor, timezone.now(), note
        transition(
            flag,
            to=AttendanceFlag.Status.SEAT_ENDED if end_seat else AttendanceFlag.Status.REVIEWED,
            actor=actor,
            fields=("reviewed_by", "reviewed_at", "review_note"),
            data={"reservation": flag.reservation_id, "misses": flag.misses},
        )
        # The earlier steps of the same run (or every one, when the seat ended) are settled
        # by this decision: they leave the roster with it.
        attendance_flags_settle(
            reservation_id=flag.reservation_id,
            actor=actor,
            note=f"Settled with the decision on week {flag.session.number}.",
            max_misses=None if end_seat else flag.misses,
        )
        if end_seat and reservation.status == Reservation.Status.CONFIRMED:
            reservation_cancel(
                reservation=reservation,
                actor=actor,
                refund="policy",
                reason=Reservation.EndReason.ATTENDANCE_RULE,
            )
    return flag


def attendance_flags_settle(
    *,
    reservation_id: int,
    actor: User | None,
    note: str,
    max_misses: int | None,
    below_limit: bool = False,
    attended: GroupSession | None = None,
) -> int:
    """Mark a member's open attendance notes reviewed (those up to ``max_misses`` misses, or
    all; with ``below_limit``, only the caring-email steps, never a decision at the limit;
    with ``attended``, only runs of misses that session ended, not later ones). Return how
    many. Call inside the transaction of what settled them."""
    flags = lock_attendance_flags(
        AttendanceFlag.objects.filter(reservation_id=reservation_id, status=AttendanceFlag.Status.OPEN)
    )
    if max_misses is not None:
        flags = flags.filter(misses__lte=max_misses)
    if attended is not None:
        flags = flags.filter(session__number__lt=attended.number)
    settled = 0
    for flag in flags:
        if below_limit and flag.limit_reached:
            continue
        flag.reviewed_by, flag.reviewed_at, flag.review_note = actor, timezone.now(), note
        transition(
            flag,
            to=AttendanceFlag.Status.REVIEWED,
            actor=actor,
            fields=("reviewed_by", "reviewed_at", "review_note"),
            data={"reservation": reservation_id, "misses": flag.misses, "settled": True},
        )
        settled += 1
    return settled
