"""Queueing for a full group, and answering a seat offer."""

import datetime as dt
import logging
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from enrollment.errors import (
    AlreadyReserved,
    AlreadyWaitlisted,
    AttestationRequired,
    HoldExpired,
    InvalidTransition,
    SeatsAvailable,
)
from enrollment.models import Reservation, WaitlistEntry
from enrollment.services.reservations import (
    Attestations,
    group_check_open,
    member_check_may_join,
    reservation_cancel,
)
from enrollment.services.seats import (
    group_refresh_seats_if_needed,
    lock_group,
    seats_taken_locked,
    waitlist_transition,
)
from grouport.audit import audit_record
from grouport.models import User
from groups.models import Group

if TYPE_CHECKING:
    from billing.providers import NextAction

logger = logging.getLogger(__name__)


def waitlist_join(*, member: User, group: Group, now: dt.datetime | None = None) -> WaitlistEntry:
    """Put ``member`` in line for a seat in the full ``group``."""
    now = now or timezone.now()
    member_check_may_join(member=member, group=group)
    group_refresh_seats_if_needed(group_id=group.pk, now=now)
    try:
        with transaction.atomic():
            group = lock_group(group.pk)
            group_check_open(group, now)
            if Reservation.objects.filter(member=member, group=group, status__in=Reservation.ACTIVE).exists():
                raise AlreadyReserved()
            if WaitlistEntry.objects.filter(
                member=member, group=group, status__in=WaitlistEntry.ACTIVE
            ).exists():
                raise AlreadyWaitlisted()
            if seats_taken_locked(group, now) < group.capacity:
                raise SeatsAvailable()
            entry = WaitlistEntry.objects.create(member=member, group=group, created_at=now)
            audit_record(actor=member, action="waitlist.waiting", obj=entry, data={"group": group.pk})
    except IntegrityError as exc:
        if "waitlist_one_active_per_member" in str(exc):
            raise AlreadyWaitlisted() from exc
        raise
    logger.info("waitlist entry %s joined group %s", entry.pk, group.pk)
    return entry


def waitlist_leave(*, entry: WaitlistEntry, actor: User, now: dt.datetime | None = None) -> WaitlistEntry:
    """Leave the line; leaving with an open offer declines it, and the seat passes on."""
    now = now or timezone.now()
    with transaction.atomic():
        lock_group(entry.group_id)
        entry = WaitlistEntry.objects.select_for_update().get(pk=entry.pk)
        if entry.status != WaitlistEntry.Status.OFFERED:
            return waitlist_transition(entry=entry, to=WaitlistEntry.Status.LEFT, actor=actor, now=now)
    return waitlist_offer_decline(entry=entry, actor=actor, now=now)


def waitlist_offer_accept(
    *, entry: WaitlistEntry, member: User, attestations: Attestations, now: dt.datetime | None = None
) -> tuple[Reservation, "NextAction"]:
    """Accept a seat offer: attest, and continue as a normal hold (pay, or confirm if free)."""
    from billing.providers import payment_provider_for

    now = now or timezone.now()
    if missing := attestations.missing():
        raise AttestationRequired(missing=missing)
    member_check_may_join(member=member, group=entry.group)
    with transaction.atomic():
        group = lock_group(entry.group_id)
        group_check_open(group, now)
        offer = Reservation.objects.select_for_update().get(pk=entry.offer_id)
        entry = WaitlistEntry.objects.select_for_update().get(pk=entry.pk)
        if entry.status != WaitlistEntry.Status.OFFERED:
            raise InvalidTransition("This offer is no longer open.")
        if offer.status != Reservation.Status.HELD or offer.expires_at <= now:
            raise HoldExpired("This offer has run out.")
        offer.residence_state = member.state
        offer.attested_at = now
        # However late in the window they accept, they get a normal hold's time to pay.
        offer.expires_at = max(
            offer.expires_at, now + dt.timedelta(minutes=settings.RESERVATION_HOLD_MINUTES)
        )
        offer.save(update_fields=["residence_state", "attested_at", "expires_at", "updated_at"])
        waitlist_transition(entry=entry, to=WaitlistEntry.Status.ACCEPTED, actor=member, now=now)
    logger.info("waitlist entry %s accepted its offer (reservation %s)", entry.pk, offer.pk)
    action = payment_provider_for(offer).begin(reservation=offer)
    offer.refresh_from_db()
    return offer, action


def waitlist_offer_decline(
    *, entry: WaitlistEntry, actor: User, now: dt.datetime | None = None
) -> WaitlistEntry:
    """Turn an offer down: the held seat goes to the next member in line."""
    now = now or timezone.now()
    with transaction.atomic():
        # Checked under the lock: an accept racing this decline wins or loses whole.
        lock_group(entry.group_id)
        entry = WaitlistEntry.objects.select_for_update().get(pk=entry.pk)
        if entry.status != WaitlistEntry.Status.OFFERED or entry.offer_id is None:
            raise InvalidTransition("This offer is no longer open.")
        reservation_cancel(reservation=entry.offer, actor=actor, now=now)
    entry.refresh_from_db()
    return entry
