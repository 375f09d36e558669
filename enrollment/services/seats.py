"""The lock that guards a group's seats, and the bookkeeping done under it.

Every change that takes or frees a seat runs inside one short transaction that first locks
the group's row (``SELECT ... FOR NO KEY UPDATE`` on PostgreSQL, ``groups.lock_objects``).
Two members reserving the last seat therefore queue on that row, and the second sees the
first one's hold. SQLite has no row locks; there the settings open every transaction
``IMMEDIATE``, which takes the database's write lock up front and serializes the same way.

Rows are locked only through the lock helpers (``<app>/lock_objects.py``), in the one order
written and checked in ``grouport/locks.py``: member, group, session, reservation, a seat's
records, waitlist entry, payment, refund.
"""

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, Prefetch
from django.utils import timezone

from enrollment.lock_objects import lock_reservation, lock_reservations, lock_waitlist_entries
from enrollment.models import Reservation, WaitlistEntry
from enrollment.ports import payment_port
from enrollment.selectors import group_seats_taken
from enrollment.services.eligibility import seat_decision
from grouport.audit import audit_record
from grouport.models import User
from grouport.outbox import outbox_add
from grouport.transitions import transition
from groups.lock_objects import lock_group, lock_groups
from groups.models import Group, License
from groups.selectors import group_is_open, open_groups_q
from intake.services import age_allows

logger = logging.getLogger(__name__)


def reservation_transition(
    *,
    reservation: Reservation,
    to: str,
    actor: User | None,
    now: dt.datetime,
    data: dict | None = None,
    fields: tuple[str, ...] = (),
) -> Reservation:
    """Move ``reservation`` to status ``to`` if the map allows it, with its timestamps (and
    ``fields``, other columns the caller set for the same move); audit it."""
    if to == Reservation.Status.CONFIRMED:
        reservation.confirmed_at, reservation.expires_at = now, None
        fields = (*fields, "confirmed_at", "expires_at")
    elif to == Reservation.Status.CANCELLED:
        reservation.cancelled_at = now
        fields = (*fields, "cancelled_at", "end_reason")
    return transition(
        reservation,
        to=to,
        actor=actor,
        fields=tuple(dict.fromkeys(fields)),
        data={"group": reservation.group_id, **(data or {})},
        detail=f"A {reservation.status} reservation cannot become {to}.",
    )


def waitlist_transition(
    *, entry: WaitlistEntry, to: str, actor: User | None, now: dt.datetime
) -> WaitlistEntry:
    return transition(
        entry,
        to=to,
        actor=actor,
        fields=("offer", "offered_at"),
        data={"group": entry.group_id},
        detail=f"A waitlist entry that is {entry.status} cannot become {to}.",
    )


def release_lapsed_holds(group: Group, now: dt.datetime) -> int:
    """Mark the group's lapsed holds expired (and their waitlist offers lapsed). Under the lock."""
    lapsed = list(lock_reservations(Reservation.objects.filter(group=group).lapsed_holds(now)))
    for reservation in lapsed:
        was_review = reservation.status == Reservation.Status.REVIEW
        reservation_transition(reservation=reservation, to=Reservation.Status.EXPIRED, actor=None, now=now)
        if was_review:
            # Nobody reviewed the intake in time: the member was promised an email, and the
            # care team should know a review was missed.
            outbox_add(
                kind="enrollment.reservation_email",
                payload={"reservation": reservation.pk, "kind": "review_lapsed"},
                key=f"reservation-{reservation.pk}-review_lapsed",
            )
            outbox_add(
                kind="enrollment.review_outcome",
                payload={"reservation": reservation.pk, "outcome": "lapsed"},
                key=f"review-lapsed-{reservation.pk}",
            )
        entry = WaitlistEntry.objects.filter(offer=reservation, status=WaitlistEntry.Status.OFFERED).first()
        if entry is not None:
            waitlist_transition(entry=entry, to=WaitlistEntry.Status.LAPSED, actor=None, now=now)
    if lapsed:
        logger.info("group %s: %d lapsed holds expired", group.pk, len(lapsed))
    return len(lapsed)


def _with_licenses(group_id: int) -> Group:
    """The group with what an eligibility decision reads (its therapist's licenses)."""
    return (
        Group.objects.select_related("therapist")
        .prefetch_related(Prefetch("therapist__licenses", queryset=License.objects.all()))
        .get(pk=group_id)
    )


def offer_free_seats(group: Group, now: dt.datetime) -> list[WaitlistEntry]:
    """Hold each free seat for the next member in line who may join, and tell them. Under the lock.

    Offers are held reservations, so they count as taken seats: a seat is never offered to
    two people, and nobody can reserve it directly while the offer is open. A member whose
    state no longer allows them into the group keeps their place but is passed over: an
    offer they could not take would hold the seat from everyone for a day.
    """
    offered: list[WaitlistEntry] = []
    if not group_is_open(group, now):
        return offered  # a closed or finished group offers no seats
    free = group.capacity - group_seats_taken(group=group, now=now)
    if free <= 0:
        return offered
    # Locked in id order (the lock order), offered in the order they joined the line.
    queue = sorted(
        lock_waitlist_entries(
            WaitlistEntry.objects.select_related("member", "member__intake").filter(
                group=group, status=WaitlistEntry.Status.WAITING
            )
        ),
        key=lambda entry: (entry.created_at, entry.pk),
    )
    if not queue:
        return offered
    rules = _with_licenses(group.pk)
    for entry in queue:
        if len(offered) == free:
            break
        if Reservation.objects.filter(
            member_id=entry.member_id, group=group, status__in=Reservation.ACTIVE
        ).exists():
            # They already hold a seat here: nothing to offer, and no longer waiting.
            waitlist_transition(entry=entry, to=WaitlistEntry.Status.LEFT, actor=None, now=now)
            continue
        if not seat_decision(state=entry.member.state, group=rules).eligible:
            logger.info("waitlist entry %s passed over: the member may not join from their state", entry.pk)
            continue
        if not age_allows(
            intake=getattr(entry.member, "intake", None), group=group, today=timezone.localdate(now)
        ):
            logger.info(
                "waitlist entry %s passed over: the group is not meant for the member's age", entry.pk
            )
            continue
        offer = Reservation.objects.create(
            member_id=entry.member_id,
            group=group,
            status=Reservation.Status.HELD,
            source=Reservation.Source.WAITLIST,
            expires_at=now + dt.timedelta(hours=settings.WAITLIST_OFFER_HOURS),
            created_at=now,
        )
        audit_record(
            actor=None, action="reservation.held", obj=offer, data={"group": group.pk, "source": "waitlist"}
        )
        entry.offer, entry.offered_at = offer, now
        waitlist_transition(entry=entry, to=WaitlistEntry.Status.OFFERED, actor=None, now=now)
        outbox_add(kind="enrollment.waitlist_offer", payload={"entry": entry.pk}, key=f"offer-{offer.pk}")
        offered.append(entry)
    if offered:
        logger.info("group %s: %d waitlist offers made", group.pk, len(offered))
    return offered


def refresh_seats(group: Group, now: dt.datetime) -> None:
    """Let go of lapsed holds, then hand free seats to the waitlist. Under the lock."""
    release_lapsed_holds(group, now)
    offer_free_seats(group, now)


def group_needs_refresh(*, group_id: int, now: dt.datetime) -> bool:
    """Return whether the group has lapsed holds to let go or members waiting (one query)."""
    flags = (
        Group.objects.filter(pk=group_id)
        .annotate(
            lapsed=Exists(Reservation.objects.filter(group_id=group_id).lapsed_holds(now)),
            waiting=Exists(
                WaitlistEntry.objects.filter(group_id=group_id, status=WaitlistEntry.Status.WAITING)
            ),
        )
        .values_list("lapsed", "waiting")
        .first()
    )
    return bool(flags and any(flags))


def group_refresh_seats_if_needed(*, group_id: int, now: dt.datetime) -> None:
    """Refresh the group's seats only when there is something to do (most requests: nothing)."""
    if group_needs_refresh(group_id=group_id, now=now):
        group_refresh_seats(group_id=group_id, now=now)


def group_refresh_seats(*, group_id: int, now: dt.datetime) -> Group:
    """Refresh one group's seats in a transaction of its own, so the result is kept even
    when the request that prompted it is then refused (a full group, say)."""
    with transaction.atomic():
        group = lock_group(group_id)
        refresh_seats(group, now)
    return group


def groups_refresh_seats(*, now: dt.datetime) -> int:
    """Expire lapsed holds and advance waitlists in every group that needs it (periodic job)."""
    group_ids = set(Reservation.objects.lapsed_holds(now).values_list("group_id", flat=True))
    group_ids |= set(
        WaitlistEntry.objects.filter(
            open_groups_q(now, prefix="group__"), status=WaitlistEntry.Status.WAITING
        ).values_list("group_id", flat=True)
    )
    for group_id in sorted(group_ids):
        group_refresh_seats(group_id=group_id, now=now)
    return len(group_ids)


def move_over(
    *, old: Reservation, new: Reservation, source: Group, actor: User | None, now: dt.datetime
) -> int:
    """End ``old`` as moved, offer its seat to its waitlist, carry its payments to ``new``
    (all locked by the caller: both groups, then the reservations)."""
    old.end_reason = Reservation.EndReason.MOVED
    reservation_transition(
        reservation=old, to=Reservation.Status.CANCELLED, actor=actor, now=now, data={"moved_to": new.pk}
    )
    # The freed seat goes to the source group's waitlist before the money is touched
    # (waitlist entries come before payments in the lock order).
    offer_free_seats(source, now)
    return payment_port().payments_follow_move(old=old, new=new)


def move_complete(*, new: Reservation, source: Group, now: dt.datetime) -> bool:
    """The difference for a held move was paid and ``new`` confirmed: the seat it replaces
    ends and its payments follow (inside the payment's transaction, with both groups and
    both reservations locked). False when the old seat had already ended: the caller then
    treats the payment as one with no seat for it (refunded in full)."""
    old = new.moved_from
    if old.status != Reservation.Status.CONFIRMED:
        return False
    carried = move_over(old=old, new=new, source=source, actor=None, now=now)
    moves_withdraw_later(old.pk)  # another move of the same seat, made meanwhile, no longer stands
    audit_record(
        actor=None,
        action="reservation.moved",
        obj=new,
        data={
            "from_reservation": old.pk,
            "from_group": source.pk,
            "to_group": new.group_id,
            "payments": carried,
        },
    )
    return True


def moves_pending(old_id: int) -> list[tuple[int, int]]:
    """Seats held for a move away from seat ``old_id`` that waits for its payment: (id, group)."""
    return list(
        Reservation.objects.filter(moved_from_id=old_id, status=Reservation.Status.HELD).values_list(
            "pk", "group_id"
        )
    )


def moves_withdraw(
    *, pending: list[tuple[int, int]], groups: dict[int, Group], actor: User | None, now
) -> int:
    """Withdraw held moves whose seat changed (cancelled, or moved elsewhere): each held seat
    is let go (to its group's waitlist) and its open checkout closed, so the member is never
    charged for a move that no longer stands. The caller holds every group's lock (in id
    order, with the others it needs); the seats are locked here, after the caller's own."""
    for pk, group_id in sorted(pending):
        held = lock_reservation(pk)
        if held.status != Reservation.Status.HELD:
            continue
        held.end_reason = Reservation.EndReason.MOVE_WITHDRAWN
        reservation_transition(reservation=held, to=Reservation.Status.CANCELLED, actor=actor, now=now)
        offer_free_seats(groups[group_id], now)
        payment_port().checkouts_close(reservation=held)
    return len(pending)


def moves_withdraw_later(old_id: int) -> None:
    """Once the current transaction commits: withdraw the moves from seat ``old_id`` still
    waiting for their money, in a transaction of their own (their groups locked in id order,
    then their seats)."""

    def withdraw() -> None:
        pending = moves_pending(old_id)
        if not pending:
            return
        with transaction.atomic():
            groups = lock_groups(sorted({group_id for _, group_id in pending}))
            moves_withdraw(pending=pending, groups=groups, actor=None, now=timezone.now())

    transaction.on_commit(withdraw)
