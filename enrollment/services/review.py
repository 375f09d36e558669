"""The intake review: a clinician approves or declines a seat held for review.

Approved, a paid seat is held for payment for ``REVIEW_PAYMENT_HOURS`` (the member is told
by email, with the way to pay); a free one is confirmed. Declined, the seat is let go to the
waitlist and the member is told kindly, with the groups open to them. Either way the
licensing rule is asked again first, from the state on the member's profile now: a member
who moved away while waiting is not approved. A review not made in time lapses like any
hold (``release_lapsed_holds``) and the seat goes to the waitlist.
"""

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from enrollment.errors import GroupClosed, HoldExpired, InvalidTransition
from enrollment.lock_objects import lock_reservation
from enrollment.models import Reservation
from enrollment.services.eligibility import not_eligible_error, seat_decision
from enrollment.services.reservations import reservation_notify
from enrollment.services.seats import offer_free_seats, reservation_transition
from grouport.exceptions import InvalidInput
from grouport.lock_objects import lock_member
from grouport.models import User
from grouport.outbox import outbox_add
from groups.lock_objects import lock_group
from groups.models import Group
from groups.selectors import group_is_open

logger = logging.getLogger(__name__)


def _review_lock(reservation: Reservation, now: dt.datetime) -> tuple[User, Group, Reservation]:
    """Lock the member, the group and the seat (the lock order), and check it waits for review."""
    member_id, group_id = Reservation.objects.values_list("member_id", "group_id").get(pk=reservation.pk)
    member = lock_member(member_id)
    group = lock_group(group_id)
    reservation = lock_reservation(reservation.pk)
    if reservation.status == Reservation.Status.EXPIRED:
        raise HoldExpired("The review was not made in time: the seat has been let go.")
    if reservation.status != Reservation.Status.REVIEW:
        raise InvalidTransition("This seat is not waiting for a review.")
    if not reservation.takes_a_seat(now):
        raise HoldExpired("The review was not made in time: the seat has been let go.")
    return member, group, reservation


def _check_open(group: Group, now: dt.datetime) -> None:
    """A group closed or finished while the review waited takes no approval."""
    if not group_is_open(group, now):
        raise GroupClosed("This group is no longer taking reservations: decline the seat, with a note.")


def reservation_review_approve(
    *, reservation: Reservation, actor: User, note: str = "", now: dt.datetime | None = None
) -> Reservation:
    """Approve the member's intake: their seat waits for payment (or, free, is confirmed)."""
    now = now or timezone.now()
    with transaction.atomic():
        member, group, reservation = _review_lock(reservation, now)
        _check_open(group, now)
        full_group = Group.objects.select_related("therapist").get(pk=group.pk)
        decision = seat_decision(state=member.state, group=full_group)
        if not decision.eligible:
            raise not_eligible_error(decision)
        reservation.reviewed_by, reservation.reviewed_at, reservation.review_note = actor, now, note.strip()
        review_fields = ("reviewed_by", "reviewed_at", "review_note")
        if group.is_free:
            reservation_transition(
                reservation=reservation,
                to=Reservation.Status.CONFIRMED,
                actor=actor,
                now=now,
                fields=review_fields,
            )
            reservation_notify(reservation, "confirmed")
        else:
            reservation.expires_at = now + dt.timedelta(hours=settings.REVIEW_PAYMENT_HOURS)
            reservation_transition(
                reservation=reservation,
                to=Reservation.Status.HELD,
                actor=actor,
                now=now,
                fields=(*review_fields, "expires_at"),
                data={"approved": True},
            )
            reservation_notify(reservation, "approved")
    logger.info("reservation %s approved after review", reservation.pk)
    return reservation


def reservation_review_decline(
    *, reservation: Reservation, actor: User, note: str = "", now: dt.datetime | None = None
) -> Reservation:
    """Decline: the seat goes to the waitlist, and the member hears kindly what is open to them."""
    now = now or timezone.now()
    if not note.strip():
        raise InvalidInput("Write a note for the record: why this seat is declined.", code="note_required")
    with transaction.atomic():
        _member, group, reservation = _review_lock(reservation, now)
        reservation.reviewed_by, reservation.reviewed_at, reservation.review_note = actor, now, note.strip()
        reservation.end_reason = Reservation.EndReason.REVIEW_DECLINED
        reservation_transition(
            reservation=reservation,
            to=Reservation.Status.CANCELLED,
            actor=actor,
            now=now,
            fields=("reviewed_by", "reviewed_at", "review_note"),
        )
        reservation_notify(reservation, "declined")
        # The member is told the care team will reach out: the care team hears it.
        outbox_add(
            kind="enrollment.review_outcome",
            payload={"reservation": reservation.pk, "outcome": "declined"},
            key=f"review-declined-{reservation.pk}",
        )
        offer_free_seats(group, now)
    logger.info("reservation %s declined after review", reservation.pk)
    return reservation
