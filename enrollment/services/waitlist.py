"""Queueing for a full group, and answering a seat offer."""

import datetime as dt
import logging

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from enrollment.errors import (
    AlreadyReserved,
    AlreadyWaitlisted,
    AttestationRequired,
    HoldExpired,
    InvalidTransition,
    NotEligible,
    SeatsAvailable,
)
from enrollment.lock_objects import lock_reservation, lock_waitlist_entry
from enrollment.models import Reservation, WaitlistEntry
from enrollment.ports import NextAction
from enrollment.selectors import group_seats_taken
from enrollment.services.eligibility import member_check_may_join
from enrollment.services.reservations import (
    Attestations,
    agreement_accepted,
    group_check_open,
    hold_length,
    reservation_cancel,
    reservation_next_step,
    reservation_review_notify,
    review_length,
    seat_needs_review,
)
from enrollment.services.seats import (
    group_refresh_seats_if_needed,
    offer_free_seats,
    reservation_transition,
    waitlist_transition,
)
from grouport.audit import audit_record
from grouport.models import User
from groups.lock_objects import lock_group
from groups.models import Group
from intake.errors import AgeOutOfRange

logger = logging.getLogger(__name__)


def waitlist_join(*, member: User, group: Group, now: dt.datetime | None = None) -> WaitlistEntry:
    """Put ``member`` in line for a seat in the full ``group``."""
    now = now or timezone.now()
    # The intake is asked when a seat is offered and accepted, not to wait in line.
    member_check_may_join(member=member, group=group, intake=False)
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
            if group_seats_taken(group=group, now=now) < group.capacity:
                raise SeatsAvailable()
            entry = WaitlistEntry.objects.create(member=member, group=group, created_at=now)
            audit_record(actor=member, action="waitlist.waiting", obj=entry, data={"group": group.pk})
    except IntegrityError as exc:
        # Lost a race with the same member's other request (asked again: the constraint's
        # message differs between PostgreSQL and SQLite).
        if WaitlistEntry.objects.filter(
            member=member, group_id=group.pk, status__in=WaitlistEntry.ACTIVE
        ).exists():
            raise AlreadyWaitlisted() from exc
        raise
    logger.info("waitlist entry %s joined group %s", entry.pk, group.pk)
    return entry


def waitlist_leave(*, entry: WaitlistEntry, actor: User, now: dt.datetime | None = None) -> WaitlistEntry:
    """Leave the line; leaving with an open offer declines it, and the seat passes on."""
    now = now or timezone.now()
    with transaction.atomic():
        lock_group(entry.group_id)
        entry = lock_waitlist_entry(entry.pk)
        if entry.status != WaitlistEntry.Status.OFFERED:
            return waitlist_transition(entry=entry, to=WaitlistEntry.Status.LEFT, actor=actor, now=now)
    return waitlist_offer_decline(entry=entry, actor=actor, now=now)


def waitlist_offer_accept(
    *, entry: WaitlistEntry, member: User, attestations: Attestations, now: dt.datetime | None = None
) -> tuple[Reservation, NextAction]:
    """Accept a seat offer: attest, and continue as a normal hold (pay, or confirm if free).

    A member who may no longer join from their state cannot take the offer; it goes back to
    the line at once (they keep their place) rather than holding the seat for a day.
    """
    now = now or timezone.now()
    if missing := attestations.missing(therapy=entry.group.kind == Group.Kind.THERAPY):
        raise AttestationRequired(missing=missing)
    try:
        member_check_may_join(member=member, group=entry.group)
    except (NotEligible, AgeOutOfRange):
        # A seat they may not take (their state, or their age) goes on at once rather than
        # being held from everyone for a day.
        waitlist_offer_withdraw(entry=entry, actor=member, now=now)
        raise
    with transaction.atomic():
        group = lock_group(entry.group_id)
        group_check_open(group, now)
        # The offer's seat before its entry (the lock order); an entry with no offer (still
        # waiting, or answered) has nothing to accept.
        offer_id = WaitlistEntry.objects.values_list("offer_id", flat=True).get(pk=entry.pk)
        if offer_id is None:
            raise InvalidTransition(_("This offer is no longer open."))
        offer = lock_reservation(offer_id)
        entry = lock_waitlist_entry(entry.pk)
        if entry.status != WaitlistEntry.Status.OFFERED or entry.offer_id != offer.pk:
            raise InvalidTransition(_("This offer is no longer open."))
        if offer.status != Reservation.Status.HELD or offer.expires_at <= now:
            raise HoldExpired(_("This offer has run out."))
        offer.residence_state = member.state
        offer.attested_at = now
        offer.agreement = agreement_accepted(attestations)
        # However late in the window they accept, they get a normal hold's time to pay.
        offer.expires_at = max(offer.expires_at, now + hold_length(offer.group))
        offer.save(update_fields=["residence_state", "attested_at", "agreement", "expires_at", "updated_at"])
        waitlist_transition(entry=entry, to=WaitlistEntry.Status.ACCEPTED, actor=member, now=now)
        if seat_needs_review(member=member, group=group):
            offer.expires_at = now + review_length()
            reservation_transition(
                reservation=offer, to=Reservation.Status.REVIEW, actor=member, now=now, fields=("expires_at",)
            )
            reservation_review_notify(offer)
    logger.info("waitlist entry %s accepted its offer (reservation %s)", entry.pk, offer.pk)
    offer.refresh_from_db()
    action = reservation_next_step(reservation=offer, member=member, now=now)
    offer.refresh_from_db()
    return offer, action


def waitlist_offer_decline(
    *, entry: WaitlistEntry, actor: User, now: dt.datetime | None = None
) -> WaitlistEntry:
    """Turn an offer down: the held seat goes to the next member in line."""
    now = now or timezone.now()
    with transaction.atomic():
        # Checked under the lock: an accept racing this decline wins or loses whole. The
        # offer's seat before its entry (the lock order).
        lock_group(entry.group_id)
        offer_id = WaitlistEntry.objects.values_list("offer_id", flat=True).get(pk=entry.pk)
        if offer_id is None:
            raise InvalidTransition(_("This offer is no longer open."))
        offer = lock_reservation(offer_id)
        entry = lock_waitlist_entry(entry.pk)
        if entry.status != WaitlistEntry.Status.OFFERED or entry.offer_id != offer.pk:
            raise InvalidTransition(_("This offer is no longer open."))
        reservation_cancel(
            reservation=offer, actor=actor, reason=Reservation.EndReason.OFFER_DECLINED, now=now
        )
    entry.refresh_from_db()
    return entry


def waitlist_offer_withdraw(
    *, entry: WaitlistEntry, actor: User | None, now: dt.datetime | None = None
) -> WaitlistEntry:
    """Take back an offer the member may no longer accept (their state changed).

    They keep their place in line; the seat goes to the next member who may join. A no-op
    if the offer was answered or lapsed meanwhile.
    """
    now = now or timezone.now()
    with transaction.atomic():
        group = lock_group(entry.group_id)
        offer_id = WaitlistEntry.objects.values_list("offer_id", flat=True).get(pk=entry.pk)
        offer = lock_reservation(offer_id) if offer_id else None  # the lock order: reservation, then entry
        entry = lock_waitlist_entry(entry.pk)
        if entry.status != WaitlistEntry.Status.OFFERED or offer is None or entry.offer_id != offer.pk:
            return entry
        if offer.status == Reservation.Status.HELD:
            offer.end_reason = Reservation.EndReason.NOT_ELIGIBLE
            reservation_transition(
                reservation=offer,
                to=Reservation.Status.CANCELLED,
                actor=actor,
                now=now,
                data={"withdrawn": True},
            )
        entry.offer, entry.offered_at = None, None
        waitlist_transition(entry=entry, to=WaitlistEntry.Status.WAITING, actor=actor, now=now)
        offer_free_seats(group, now)
    logger.info("waitlist entry %s: offer withdrawn (member may not join from their state)", entry.pk)
    return entry
