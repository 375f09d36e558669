"""Attendance marking and staff moves of members between groups."""

import datetime as dt
import logging

from django.db import transaction
from django.utils import timezone

from enrollment.errors import GroupFull, InvalidTransition
from enrollment.models import Attendance, Reservation
from enrollment.services.eligibility import member_check_may_join
from enrollment.services.reservations import group_check_open, reservation_notify
from enrollment.services.seats import (
    lock_group,
    lock_reservation,
    offer_free_seats,
    reservation_transition,
    seats_taken_locked,
)
from enrollment.signals import reservation_moved
from grouport.audit import audit_record
from grouport.exceptions import InvalidInput
from grouport.models import User
from grouport.transitions import transition
from groups.models import Group, GroupSession

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
            for a in Attendance.objects.select_for_update(no_key=True).filter(
                session=session, reservation_id__in=marks
            )
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
                    marked_by=actor,
                    marked_at=now,
                )
            else:
                row.marked_by, row.marked_at = actor, now
                # One audit entry per change, the "attendance.marked" one below.
                transition(row, to=status, fields=("marked_by", "marked_at"), audit=False)
            audit_record(
                actor=actor,
                action="attendance.marked",
                obj=row,
                data={"session": session.pk, "reservation": reservation_id, "from": before, "to": status},
                request=request,
            )
            changed.append(row)
    logger.info("session %s: %d attendance rows changed", session.pk, len(changed))
    return changed


def reservation_move(
    *, reservation: Reservation, to_group: Group, actor: User, now: dt.datetime | None = None, request=None
) -> Reservation:
    """Move a confirmed member to another group: eligibility and a free seat re-checked,
    payments carried over (billing hears ``reservation_moved``), both rosters updated at
    once, the member told by email.
    """
    now = now or timezone.now()
    if reservation.group_id == to_group.pk:
        raise InvalidInput("The member is already in that group.", code="same_group")
    member_check_may_join(member=reservation.member, group=to_group)
    with transaction.atomic():
        # Both groups' locks, always in id order, so two moves the other way cannot deadlock.
        locked = {g: lock_group(g) for g in sorted({reservation.group_id, to_group.pk})}
        source, target = locked[reservation.group_id], locked[to_group.pk]
        reservation = lock_reservation(reservation.pk)
        if reservation.status != Reservation.Status.CONFIRMED:
            raise InvalidTransition("Only a confirmed seat can be moved.")
        group_check_open(target, now)
        if Reservation.objects.filter(
            member_id=reservation.member_id, group=target, status__in=Reservation.ACTIVE
        ).exists():
            raise InvalidInput("The member already has a seat in that group.", code="already_reserved")
        if seats_taken_locked(target, now) >= target.capacity:
            raise GroupFull("The other group has no free seat.")
        moved = Reservation.objects.create(
            member_id=reservation.member_id,
            group=target,
            status=Reservation.Status.CONFIRMED,
            residence_state=reservation.residence_state,
            attested_at=reservation.attested_at,
            created_at=now,
            confirmed_at=now,
        )
        reservation.end_reason = Reservation.EndReason.MOVED
        reservation_transition(
            reservation=reservation,
            to=Reservation.Status.CANCELLED,
            actor=actor,
            now=now,
            data={"moved_to": moved.pk},
        )
        # The money paid follows the member to the new seat.
        carried = sum(
            count or 0
            for _receiver, count in reservation_moved.send(
                sender=Reservation, old=reservation, new=moved, actor=actor
            )
        )
        audit_record(
            actor=actor,
            action="reservation.moved",
            obj=moved,
            data={
                "from_reservation": reservation.pk,
                "from_group": source.pk,
                "to_group": target.pk,
                "payments": carried,
            },
            request=request,
        )
        offer_free_seats(source, now)
        reservation_notify(moved, "moved")
    logger.info("reservation %s moved to group %s as %s", reservation.pk, target.pk, moved.pk)
    return moved
