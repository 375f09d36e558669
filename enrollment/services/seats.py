"""The lock that guards a group's seats, and the bookkeeping done under it.

Every change that takes or frees a seat runs inside one short transaction that first locks
the group's row (``SELECT ... FOR NO KEY UPDATE`` on PostgreSQL). Two members reserving the
last seat therefore queue on that row, and the second sees the first one's hold. SQLite has
no row locks; there the settings open every transaction ``IMMEDIATE``, which takes the
database's write lock up front and serializes the same way. Lock order is always group,
then reservation, then waitlist entry.
"""

import datetime as dt
import logging

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists

from enrollment.models import Reservation, WaitlistEntry
from enrollment.selectors import seat_holding_q
from grouport.audit import audit_record
from grouport.models import User
from groups.models import Group

logger = logging.getLogger(__name__)

# Tests switch this off to show that the race is real without the lock (a control test).
LOCK_GROUP_ROW = True


def lock_group(group_id: int) -> Group:
    """Lock and return the group row that guards its seats (call inside ``atomic``).

    Only the columns seat decisions read are loaded: the lock is the hot spot of a busy
    group, and every microsecond under it is one nobody else can reserve in.
    """
    assert connection.in_atomic_block, "seat changes must run inside transaction.atomic()"
    queryset = Group.objects.select_for_update(no_key=True) if LOCK_GROUP_ROW else Group.objects
    return queryset.only("id", "capacity", "status", "last_session_at", "price", "currency").get(pk=group_id)


def seats_taken_locked(group: Group, now: dt.datetime) -> int:
    return Reservation.objects.filter(seat_holding_q(now), group=group).count()


def reservation_transition(
    *, reservation: Reservation, to: str, actor: User | None, now: dt.datetime, data: dict | None = None
) -> Reservation:
    """Move ``reservation`` to status ``to`` if the map allows it, and audit the move."""
    from enrollment.errors import InvalidTransition

    old = reservation.status
    if to not in Reservation.TRANSITIONS[old]:
        raise InvalidTransition(f"A {old} reservation cannot become {to}.")
    reservation.status = to
    fields = ["status", "updated_at"]
    if to == Reservation.Status.CONFIRMED:
        reservation.confirmed_at = now
        reservation.expires_at = None
        fields += ["confirmed_at", "expires_at"]
    elif to == Reservation.Status.CANCELLED:
        reservation.cancelled_at = now
        fields.append("cancelled_at")
    reservation.save(update_fields=fields)
    audit_record(
        actor=actor,
        action=f"reservation.{to}",
        obj=reservation,
        data={"from": old, "to": to, "group": reservation.group_id, **(data or {})},
    )
    return reservation


def waitlist_transition(
    *, entry: WaitlistEntry, to: str, actor: User | None, now: dt.datetime
) -> WaitlistEntry:
    from enrollment.errors import InvalidTransition

    old = entry.status
    if to not in WaitlistEntry.TRANSITIONS[old]:
        raise InvalidTransition(f"A waitlist entry that is {old} cannot become {to}.")
    entry.status = to
    entry.save(update_fields=["status", "offer", "offered_at", "updated_at"])
    audit_record(
        actor=actor, action=f"waitlist.{to}", obj=entry, data={"from": old, "to": to, "group": entry.group_id}
    )
    return entry


def release_lapsed_holds(group: Group, now: dt.datetime) -> int:
    """Mark the group's lapsed holds expired (and their waitlist offers lapsed). Under the lock."""
    lapsed = list(
        Reservation.objects.select_for_update()
        .filter(group=group, status=Reservation.Status.HELD, expires_at__lte=now)
        .order_by("pk")
    )
    for reservation in lapsed:
        reservation_transition(reservation=reservation, to=Reservation.Status.EXPIRED, actor=None, now=now)
        entry = WaitlistEntry.objects.filter(offer=reservation, status=WaitlistEntry.Status.OFFERED).first()
        if entry is not None:
            waitlist_transition(entry=entry, to=WaitlistEntry.Status.LAPSED, actor=None, now=now)
    if lapsed:
        logger.info("group %s: %d lapsed holds expired", group.pk, len(lapsed))
    return len(lapsed)


def offer_free_seats(group: Group, now: dt.datetime) -> list[WaitlistEntry]:
    """Hold each free seat for the next member in line and tell them. Under the lock.

    Offers are held reservations, so they count as taken seats: a seat is never offered to
    two people, and nobody can reserve it directly while the offer is open.
    """
    from enrollment.tasks import send_waitlist_offer_email

    offered: list[WaitlistEntry] = []
    if (
        group.status != Group.Status.PUBLISHED
        or group.last_session_at is None
        or group.last_session_at <= now
    ):
        return offered  # a closed or finished group offers no seats
    free = group.capacity - seats_taken_locked(group, now)
    if free <= 0:
        return offered
    queue = WaitlistEntry.objects.select_for_update().filter(group=group, status=WaitlistEntry.Status.WAITING)
    for entry in queue.order_by("created_at", "pk"):
        if len(offered) == free:
            break
        if Reservation.objects.filter(
            member_id=entry.member_id, group=group, status__in=Reservation.ACTIVE
        ).exists():
            # They already hold a seat here: nothing to offer, and no longer waiting.
            waitlist_transition(entry=entry, to=WaitlistEntry.Status.LEFT, actor=None, now=now)
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
        send_waitlist_offer_email.delay_on_commit(entry.pk)
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
            lapsed=Exists(
                Reservation.objects.filter(
                    group_id=group_id, status=Reservation.Status.HELD, expires_at__lte=now
                )
            ),
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
    from django.utils import timezone

    now = now or timezone.now()
    group_ids = set(
        Reservation.objects.filter(status=Reservation.Status.HELD, expires_at__lte=now).values_list(
            "group_id", flat=True
        )
    )
    group_ids |= set(
        WaitlistEntry.objects.filter(
            status=WaitlistEntry.Status.WAITING,
            group__status=Group.Status.PUBLISHED,
            group__last_session_at__gt=now,
        ).values_list("group_id", flat=True)
    )
    for group_id in sorted(group_ids):
        group_refresh_seats(group_id=group_id, now=now)
    return len(group_ids)
