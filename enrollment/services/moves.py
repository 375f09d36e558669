"""Moving a member to another group (staff): the seat, the money and the emails together."""

import datetime as dt
import logging

from django.db import transaction
from django.utils import timezone

from enrollment.errors import GroupFull, InvalidTransition
from enrollment.lock_objects import lock_reservation
from enrollment.models import Reservation
from enrollment.ports import payment_port
from enrollment.selectors import group_seats_taken
from enrollment.services.eligibility import member_check_may_join
from enrollment.services.reservations import group_check_open, reservation_notify
from enrollment.services.seats import offer_free_seats, reservation_transition
from grouport.audit import audit_record
from grouport.exceptions import InvalidInput
from grouport.models import User
from groups.lock_objects import lock_groups
from groups.models import Group

logger = logging.getLogger(__name__)


def reservation_move(
    *, reservation: Reservation, to_group: Group, actor: User, now: dt.datetime | None = None, request=None
) -> Reservation:
    """Move a confirmed member to another group: eligibility and a free seat re-checked,
    payments carried over (through the payment port), both rosters updated at once, the
    member told by email.
    """
    now = now or timezone.now()
    if reservation.group_id == to_group.pk:
        raise InvalidInput("The member is already in that group.", code="same_group")
    member_check_may_join(member=reservation.member, group=to_group)
    with transaction.atomic():
        # Both groups' locks, always in id order, so two moves the other way cannot deadlock.
        locked = lock_groups([reservation.group_id, to_group.pk])
        source, target = locked[reservation.group_id], locked[to_group.pk]
        reservation = lock_reservation(reservation.pk)
        if reservation.status != Reservation.Status.CONFIRMED:
            raise InvalidTransition("Only a confirmed seat can be moved.")
        group_check_open(target, now)
        if Reservation.objects.filter(
            member_id=reservation.member_id, group=target, status__in=Reservation.ACTIVE
        ).exists():
            raise InvalidInput("The member already has a seat in that group.", code="already_reserved")
        if group_seats_taken(group=target, now=now) >= target.capacity:
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
        # The freed seat goes to the source group's waitlist before the money is touched
        # (waitlist entries come before payments in the lock order).
        offer_free_seats(source, now)
        # The money paid follows the member to the new seat.
        carried = payment_port().payments_follow_move(old=reservation, new=moved)
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
        reservation_notify(moved, "moved", old=reservation.pk)
    logger.info("reservation %s moved to group %s as %s", reservation.pk, target.pk, moved.pk)
    return moved
