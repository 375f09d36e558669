"""Taking, confirming and giving up a seat."""

import datetime as dt
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from allauth.account.models import EmailAddress
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from enrollment.errors import (
    AlreadyReserved,
    AttestationRequired,
    EmailUnverified,
    GroupClosed,
    GroupFull,
    HoldExpired,
    InvalidTransition,
    NotEligible,
    ProfileIncomplete,
)
from enrollment.models import Reservation, WaitlistEntry
from enrollment.services.seats import (
    group_refresh_seats_if_needed,
    lock_group,
    offer_free_seats,
    reservation_transition,
    seats_taken_locked,
    waitlist_transition,
)
from grouport.audit import audit_record
from grouport.models import User
from groups.eligibility import REASON_TEXT, Reason
from groups.models import Group
from groups.selectors import group_decision_for, skills_alternatives

if TYPE_CHECKING:
    from billing.providers import NextAction

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Attestations:
    """What a member confirms before taking a seat."""

    residence: bool  # lives in the state on their profile
    location: bool  # will attend every session from an eligible state
    agreement: bool  # accepts the group agreement, crisis plan included

    def missing(self) -> list[str]:
        names = {
            "residence": "attest_residence",
            "location": "attest_location",
            "agreement": "accept_agreement",
        }
        return [names[k] for k in ("residence", "location", "agreement") if getattr(self, k) is not True]


def member_email_verified(member: User) -> bool:
    return EmailAddress.objects.filter(user=member, email__iexact=member.email, verified=True).exists()


def member_check_may_join(*, member: User, group: Group) -> None:
    """Raise unless ``member`` may take a seat in ``group`` (verified, profile, eligibility)."""
    if not member_email_verified(member):
        raise EmailUnverified()
    if not member.state:
        raise ProfileIncomplete()
    decision = group_decision_for(group=group, state=member.state)
    if not decision.eligible:
        alternatives = [{"id": g.pk, "slug": g.slug, "title": g.title} for g in skills_alternatives()]
        raise NotEligible(
            " ".join(REASON_TEXT[Reason(r)] for r in decision.reason_codes),
            reasons=decision.reason_codes,
            alternatives=alternatives,
        )


def group_check_open(group: Group, now: dt.datetime) -> None:
    if group.status != Group.Status.PUBLISHED:
        raise GroupClosed()
    if group.last_session_at is None or group.last_session_at <= now:
        raise GroupClosed("This group has finished.")


def reservation_hold(
    *,
    member: User,
    group: Group,
    attestations: Attestations,
    now: dt.datetime | None = None,
) -> Reservation:
    """Hold a seat in ``group`` for ``member`` until they pay (or confirm a free group).

    Every rule is checked here, on the server, whatever the client sent. The capacity check
    and the insert run under the group's row lock, so the last seat goes to one member.
    """
    now = now or timezone.now()
    if missing := attestations.missing():
        raise AttestationRequired(missing=missing)
    member_check_may_join(member=member, group=group)
    # Lapsed holds free their seats, and free seats go to the waitlist first.
    group_refresh_seats_if_needed(group_id=group.pk, now=now)
    # Outside the lock: a second request racing this check is stopped by the partial unique
    # constraint (one active reservation per member and group), caught below.
    if Reservation.objects.filter(member=member, group_id=group.pk, status__in=Reservation.ACTIVE).exists():
        raise AlreadyReserved()
    try:
        with transaction.atomic():
            group = lock_group(group.pk)
            group_check_open(group, now)
            if seats_taken_locked(group, now) >= group.capacity:
                raise GroupFull(waitlist_url=f"/api/groups/{group.pk}/waitlist/")
            reservation = Reservation.objects.create(
                member=member,
                group=group,
                status=Reservation.Status.HELD,
                expires_at=now + dt.timedelta(minutes=settings.RESERVATION_HOLD_MINUTES),
                residence_state=member.state,
                attested_at=now,
                created_at=now,
            )
            audit_record(actor=member, action="reservation.held", obj=reservation, data={"group": group.pk})
    except IntegrityError as exc:
        # The one-active-reservation constraint: the same member's second request lost.
        if "reservation_one_active_per_member" in str(exc):
            raise AlreadyReserved() from exc
        raise
    logger.info("reservation %s held in group %s", reservation.pk, group.pk)
    return reservation


def reservation_confirm(
    *, reservation: Reservation, actor: User | None, now: dt.datetime | None = None
) -> Reservation:
    """Confirm a held seat (payment received, or a free group). Confirming twice is a no-op."""
    from enrollment.tasks import send_reservation_email

    now = now or timezone.now()
    with transaction.atomic():
        lock_group(reservation.group_id)
        reservation = Reservation.objects.select_for_update().get(pk=reservation.pk)
        if reservation.status == Reservation.Status.CONFIRMED:
            return reservation
        if reservation.status != Reservation.Status.HELD:
            # A lapsed hold comes back only through a late payment (billing.payment_settle).
            raise HoldExpired() if reservation.status == Reservation.Status.EXPIRED else InvalidTransition()
        if reservation.expires_at <= now:
            raise HoldExpired()
        if reservation.attested_at is None:
            raise AttestationRequired("Please confirm each statement before your seat is confirmed.")
        reservation_transition(reservation=reservation, to=Reservation.Status.CONFIRMED, actor=actor, now=now)
        send_reservation_email.delay_on_commit(reservation.pk, "confirmed")
    logger.info("reservation %s confirmed", reservation.pk)
    return reservation


def reservation_cancel(
    *, reservation: Reservation, actor: User | None, now: dt.datetime | None = None
) -> Reservation:
    """Give up a held or confirmed seat; it goes at once to the next member on the waitlist."""
    from enrollment.tasks import send_reservation_email

    now = now or timezone.now()
    with transaction.atomic():
        group = lock_group(reservation.group_id)
        reservation = Reservation.objects.select_for_update().get(pk=reservation.pk)
        was = reservation.status
        reservation_transition(reservation=reservation, to=Reservation.Status.CANCELLED, actor=actor, now=now)
        entry = WaitlistEntry.objects.filter(offer=reservation, status=WaitlistEntry.Status.OFFERED).first()
        if entry is not None:
            waitlist_transition(entry=entry, to=WaitlistEntry.Status.DECLINED, actor=actor, now=now)
        offer_free_seats(group, now)
        if was == Reservation.Status.CONFIRMED:
            send_reservation_email.delay_on_commit(reservation.pk, "cancelled")
    logger.info("reservation %s cancelled (was %s)", reservation.pk, was)
    return reservation


def reservation_start(
    *, member: User, group: Group, attestations: Attestations, now: dt.datetime | None = None
) -> tuple[Reservation, "NextAction"]:
    """Hold a seat and start paying for it; return the reservation and the member's next step.

    A free group's seat is confirmed at once; a paid one waits for the payment provider.
    """
    from billing.providers import payment_provider_for

    reservation = reservation_hold(member=member, group=group, attestations=attestations, now=now)
    action = payment_provider_for(reservation).begin(reservation=reservation)
    if action.type == "confirmed":
        reservation.refresh_from_db()
    return reservation, action
