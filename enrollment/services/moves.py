"""Moving a member to another group (staff): the seat, the money and the emails together."""

import datetime as dt
import logging
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from enrollment.errors import GroupFull, InvalidTransition
from enrollment.lock_objects import lock_reservation
from enrollment.models import Reservation
from enrollment.ports import payment_port
from enrollment.selectors import group_seats_taken
from enrollment.services.eligibility import member_check_may_join
from enrollment.services.reservations import group_check_open, reservation_notify
from enrollment.services.seats import move_over, moves_pending, moves_withdraw
from grouport.audit import audit_record
from grouport.exceptions import Conflict, InvalidInput
from grouport.models import User
from groups.lock_objects import lock_groups
from groups.models import Group

logger = logging.getLogger(__name__)


def reservation_move(
    *,
    reservation: Reservation,
    to_group: Group,
    actor: User,
    waive: bool = False,
    now: dt.datetime | None = None,
    request=None,
) -> Reservation:
    """Move a confirmed member to another group: eligibility and a free seat re-checked, both
    rosters updated at once, the member told by email, and the money made to add up.

    - The same fee, or staff waive the difference (``waive``): moved now, payments carried.
    - A cheaper group: moved now, payments carried, and the difference refunded (through the
      outbox, once).
    - A dearer group: a seat there is held for the member (``MOVE_PAY_HOURS``) while they pay
      the difference (its own Checkout); their seat here stays theirs until then. Paid, the
      move is done (``move_complete``); not paid in time, the held seat lapses and nothing
      else changes.

    Returns the new seat (confirmed, or held for the difference)."""
    now = now or timezone.now()
    if reservation.group_id == to_group.pk:
        raise InvalidInput("The member is already in that group.", code="same_group")
    member_check_may_join(member=reservation.member, group=to_group)
    difference = payment_port().move_difference(old=reservation, to_group=to_group)
    pending = moves_pending(reservation.pk)  # an earlier move from this seat, still unpaid
    with transaction.atomic():
        # Every group's lock, always in id order, so two moves the other way cannot deadlock.
        locked = lock_groups([reservation.group_id, to_group.pk, *(g for _, g in pending)])
        source, target = locked[reservation.group_id], locked[to_group.pk]
        reservation = lock_reservation(reservation.pk)
        if set(moves_pending(reservation.pk)) - set(pending):
            # Another move of this seat was made since we looked: its group is not locked.
            raise Conflict("Another move of this seat is under way: try again.", code="move_in_progress")
        # A new move replaces one still waiting for its payment: that held seat is let go.
        moves_withdraw(pending=pending, groups=locked, actor=actor, now=now)
        if reservation.status != Reservation.Status.CONFIRMED:
            raise InvalidTransition("Only a confirmed seat can be moved.")
        group_check_open(target, now)
        if Reservation.objects.filter(
            member_id=reservation.member_id, group=target, status__in=Reservation.ACTIVE
        ).exists():
            raise InvalidInput("The member already has a seat in that group.", code="already_reserved")
        if group_seats_taken(group=target, now=now) >= target.capacity:
            raise GroupFull("The other group has no free seat.")
        # A difference Stripe could not charge (under its least charge) is waived, and says so.
        waive = waive or Decimal("0") < difference < payment_port().least_charge()
        if difference > 0 and not waive:
            held = Reservation.objects.create(
                member_id=reservation.member_id,
                group=target,
                status=Reservation.Status.HELD,
                source=Reservation.Source.MOVE,
                moved_from=reservation,
                residence_state=reservation.residence_state,
                attested_at=reservation.attested_at,
                agreement=reservation.agreement,
                created_at=now,
                expires_at=now + dt.timedelta(hours=settings.MOVE_PAY_HOURS),
            )
            payment_port().move_price_set(new=held, old=reservation, difference=difference)
            audit_record(
                actor=actor,
                action="reservation.move_offered",
                obj=held,
                data={
                    "from_reservation": reservation.pk,
                    "to_group": target.pk,
                    "difference": str(difference),
                },
                request=request,
            )
            reservation_notify(held, "move_pay", old=reservation.pk, difference=str(difference))
            logger.info(
                "reservation %s: a seat in group %s held as %s for the difference",
                reservation.pk,
                target.pk,
                held.pk,
            )
            return held
        moved = Reservation.objects.create(
            member_id=reservation.member_id,
            group=target,
            status=Reservation.Status.CONFIRMED,
            residence_state=reservation.residence_state,
            attested_at=reservation.attested_at,
            agreement=reservation.agreement,
            created_at=now,
            confirmed_at=now,
        )
        move_over(old=reservation, new=moved, source=source, actor=actor, now=now)
        waived = difference if waive and difference > 0 else Decimal("0.00")
        payment_port().move_price_set(new=moved, old=reservation, difference=None, waived=waived)
        refunded = Decimal("0.00")
        if difference < 0:
            refunded = payment_port().move_refund(
                new=moved, amount=-difference, key=f"move-{moved.pk}", actor=actor
            )
        audit_record(
            actor=actor,
            action="reservation.moved",
            obj=moved,
            data={
                "from_reservation": reservation.pk,
                "from_group": source.pk,
                "to_group": target.pk,
                "difference": str(difference),
                "waived": str(waived),
                "refunded": str(refunded),
            },
            request=request,
        )
        reservation_notify(moved, "moved", old=reservation.pk)
    logger.info("reservation %s moved to group %s as %s", reservation.pk, target.pk, moved.pk)
    return moved
