"""Taking, confirming and giving up a seat, and what a payment's arrival means for it.

Every seat decision lives here or in the sibling modules: hold, confirm, cancel with the
refund policy, "a payment arrived: confirm, confirm late, or unseat", and (in
``attendance.py``) moving a member. Money is billing's: it is asked through the payment port
(``enrollment/ports.py``), never imported.
"""

import datetime as dt
import logging
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from enrollment.errors import (
    AlreadyReserved,
    AttestationRequired,
    GroupClosed,
    GroupFull,
    HoldExpired,
    InvalidTransition,
    ReviewPending,
)
from enrollment.lock_objects import lock_reservation
from enrollment.models import GroupAgreement, Reservation, WaitlistEntry
from enrollment.ports import NextAction, PaymentUnavailable, payment_port
from enrollment.selectors import agreement_current, group_seats_taken
from enrollment.services.eligibility import (
    member_check_may_join,
    not_eligible_error,
    residence_alert_open,
    seat_decision,
)
from enrollment.services.seats import (
    group_refresh_seats_if_needed,
    move_complete,
    moves_withdraw_later,
    offer_free_seats,
    release_lapsed_holds,
    reservation_transition,
    waitlist_transition,
)
from grouport.audit import audit_record
from grouport.exceptions import InvalidInput
from grouport.lock_objects import lock_member
from grouport.models import User
from grouport.outbox import outbox_add
from groups.eligibility import Decision
from groups.lock_objects import lock_group, lock_groups
from groups.models import Group
from groups.selectors import group_is_open
from intake.services import screening_flag_open

logger = logging.getLogger(__name__)
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Attestations:
    """What a member confirms before taking a seat."""

    residence: bool  # lives in the state on their profile
    location: bool  # will attend every session from an eligible state
    agreement: bool  # accepts the group agreement, crisis plan included
    agreement_version: int | None = None  # the version they read (None: today's)

    def missing(self, *, therapy: bool = True) -> list[str]:
        """The statements not confirmed. Residence and location matter for therapy groups
        only (licensing); everyone accepts the group agreement."""
        names = {
            "residence": "attest_residence",
            "location": "attest_location",
            "agreement": "accept_agreement",
        }
        wanted = ("residence", "location", "agreement") if therapy else ("agreement",)
        return [names[k] for k in wanted if getattr(self, k) is not True]


def agreement_accepted(attestations: Attestations) -> GroupAgreement:
    """Return the agreement version being accepted: today's, and the one the member read.

    A version published while the member had the page open is not accepted unseen.
    """
    agreement = agreement_current()
    if attestations.agreement_version not in (None, agreement.version):
        raise AttestationRequired(
            _("The group agreement was just updated. Please read it again before you accept it."),
            code="agreement_updated",
        )
    return agreement


def group_check_open(group: Group, now: dt.datetime) -> None:
    if group_is_open(group, now):
        return
    if group.status != Group.Status.PUBLISHED:
        raise GroupClosed()
    raise GroupClosed(_("This group has finished."))


def _active_reservation_exists(*, member_id: int, group_id: int) -> bool:
    return Reservation.objects.filter(
        member_id=member_id, group_id=group_id, status__in=Reservation.ACTIVE
    ).exists()


def hold_length(group: Group) -> dt.timedelta:
    """How long a new hold in ``group`` lasts: ``RESERVATION_HOLD_MINUTES``, or for a paid
    group at least what the payment service needs for its checkout page."""
    length = dt.timedelta(minutes=settings.RESERVATION_HOLD_MINUTES)
    if group.is_free:
        return length
    return max(length, payment_port().minimum_hold())


def review_length() -> dt.timedelta:
    """How long a seat is held while a clinician reviews the intake (``REVIEW_HOLD_DAYS``)."""
    return dt.timedelta(days=settings.REVIEW_HOLD_DAYS)


def seat_needs_review(*, member: User, group: Group) -> bool:
    """Whether a clinician reviews ``member``'s intake before they may pay for a seat in
    ``group``: the group asks it of everyone, or the member's screening answers are waiting
    for a clinician's eyes (a therapy group)."""
    if group.requires_review:
        return True
    return group.kind == Group.Kind.THERAPY and screening_flag_open(member)


def reservation_review_notify(reservation: Reservation) -> None:
    """Tell the member their seat waits for a review, and the group's therapist (and the care
    team) that an intake waits for them: emails, after the commit."""
    reservation_notify(reservation, "in_review")
    outbox_add(
        kind="enrollment.review_requested",
        payload={"reservation": reservation.pk},
        key=f"review-requested-{reservation.pk}",
    )


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
    if missing := attestations.missing(therapy=group.kind == Group.Kind.THERAPY):
        raise AttestationRequired(missing=missing)
    member_check_may_join(member=member, group=group)
    agreement = agreement_accepted(attestations)
    review = seat_needs_review(member=member, group=group)
    # Lapsed holds free their seats, and free seats go to the waitlist first.
    group_refresh_seats_if_needed(group_id=group.pk, now=now)
    # Outside the lock: a second request racing this check is stopped by the partial unique
    # constraint (one active reservation per member and group), caught below.
    if _active_reservation_exists(member_id=member.pk, group_id=group.pk):
        raise AlreadyReserved()
    try:
        with transaction.atomic():
            group = lock_group(group.pk)
            group_check_open(group, now)
            if group_seats_taken(group=group, now=now) >= group.capacity:
                raise GroupFull(waitlist_url=f"/api/groups/{group.pk}/waitlist/")
            reservation = Reservation.objects.create(
                member=member,
                group=group,
                status=Reservation.Status.REVIEW if review else Reservation.Status.HELD,
                expires_at=now + (review_length() if review else hold_length(group)),
                residence_state=member.state,
                attested_at=now,
                agreement_id=agreement.pk,
                created_at=now,
            )
            audit_record(
                actor=member,
                action="reservation.review" if review else "reservation.held",
                obj=reservation,
                data={"group": group.pk},
            )
            if review:
                reservation_review_notify(reservation)
    except IntegrityError as exc:
        # The same member's second request lost the race to the one-active-reservation
        # constraint. Asked again rather than read from the message, which differs between
        # PostgreSQL ("reservation_one_active_per_member") and SQLite ("UNIQUE constraint").
        if _active_reservation_exists(member_id=member.pk, group_id=group.pk):
            raise AlreadyReserved() from exc
        raise
    logger.info("reservation %s held in group %s", reservation.pk, group.pk)
    return reservation


def reservation_confirm(
    *, reservation: Reservation, actor: User | None, now: dt.datetime | None = None
) -> Reservation:
    """Confirm a held, attested seat (a free group's). Confirming twice is a no-op.

    The views confirm only free groups' seats this way; a paid seat is confirmed by its
    payment's arrival (``reservation_payment_arrived``).
    """
    now = now or timezone.now()
    with transaction.atomic():
        lock_group(reservation.group_id)
        reservation = lock_reservation(reservation.pk)
        if reservation.status == Reservation.Status.CONFIRMED:
            return reservation
        if reservation.status != Reservation.Status.HELD:
            # A lapsed hold comes back only through a late payment.
            raise HoldExpired() if reservation.status == Reservation.Status.EXPIRED else InvalidTransition()
        if reservation.expires_at <= now:
            raise HoldExpired()
        if reservation.attested_at is None:
            raise AttestationRequired(_("Please confirm each statement before your seat is confirmed."))
        reservation_transition(reservation=reservation, to=Reservation.Status.CONFIRMED, actor=actor, now=now)
        reservation_notify(reservation, "confirmed")
    logger.info("reservation %s confirmed", reservation.pk)
    return reservation


def reservation_notify(reservation: Reservation, kind: str, **extra: object) -> None:
    """Record the email telling the member about their seat (sent after the commit)."""
    outbox_add(
        kind="enrollment.reservation_email",
        payload={"reservation": reservation.pk, "kind": kind, **extra},
        key=f"reservation-{reservation.pk}-{kind}",
    )


def reservation_start(
    *, member: User, group: Group, attestations: Attestations, now: dt.datetime | None = None
) -> tuple[Reservation, NextAction]:
    """Hold a seat and start paying for it; return the reservation and the member's next step.

    A free group's seat is confirmed at once; a paid one waits for its payment.
    """
    reservation = reservation_hold(member=member, group=group, attestations=attestations, now=now)
    return reservation, reservation_next_step(reservation=reservation, member=member, now=now)


def reservation_next_step(
    *, reservation: Reservation, member: User, now: dt.datetime | None = None
) -> NextAction:
    """Move a held, attested seat on: wait for its review, confirm it (free group) or open its
    checkout (paid)."""
    if reservation.status == Reservation.Status.REVIEW:
        return NextAction("review", reverse("enrollment:reservation", args=[reservation.pk]))
    if reservation.group.is_free:
        reservation_confirm(reservation=reservation, actor=member, now=now)
        reservation.refresh_from_db()
        return NextAction("confirmed", reverse("enrollment:reservation", args=[reservation.pk]))
    port = payment_port()
    try:
        # Eligibility was asked a moment ago, when the seat was held or the offer accepted.
        return port.checkout_begin(reservation=reservation, eligibility_asked=True)
    except PaymentUnavailable:
        # The seat is held all the same: the pay page says so, and its "Try again" asks again.
        return NextAction("pay", port.pay_url(reservation=reservation), unavailable=True)


def reservation_check_payable(
    *, reservation: Reservation, member: User, now: dt.datetime | None = None, eligibility: bool = True
) -> None:
    """Raise unless a payment may start for ``reservation`` now: held, not lapsed, attested
    (a waitlist offer is accepted first), and, unless the caller asked a moment ago
    (``eligibility=False``), the member may still join from the state on their profile."""
    now = now or timezone.now()
    status = reservation.status_at(now)
    if status == Reservation.Status.REVIEW:
        raise ReviewPending()
    if status != Reservation.Status.HELD:
        raise HoldExpired()
    if reservation.attested_at is None:
        raise AttestationRequired()
    if eligibility:
        decision = seat_decision(state=member.state, group=reservation.group)
        if not decision.eligible:
            raise not_eligible_error(decision)


def reservation_next_action(
    *, reservation: Reservation, now: dt.datetime | None = None, decision: Decision | None = None
) -> NextAction | None:
    """Return the member's next step for ``reservation`` without changing anything.

    A hold that has run out leads to reserving again, or to the waitlist when the group is
    full; never to a payment. ``decision``: the eligibility the caller already asked for
    this reservation's member and group in this request.
    """
    now = now or timezone.now()
    status = reservation.status_at(now)
    if status == Reservation.Status.EXPIRED:
        group = reservation.group
        if not group_is_open(group, now):
            return None
        taken = getattr(reservation, "group_seats_taken", None)  # fetched with a list (reservations_listed)
        if taken is None:
            taken = group_seats_taken(group=group, now=now)
        full = taken >= group.capacity
        url = reverse("enrollment:reserve", args=[group.slug])
        return NextAction("waitlist" if full else "reserve", url)
    if status != Reservation.Status.HELD:
        return None
    if reservation.attested_at is None:
        # A waitlist offer: accept it (with the attestations) first.
        entry = getattr(reservation, "waitlist_entry", None)
        if entry is None:
            return None
        return NextAction("accept_offer", reverse("enrollment:offer_accept", args=[entry.pk]))
    if decision is None:
        decision = seat_decision(state=reservation.member.state, group=reservation.group)
    if not decision.eligible:
        # Their state changed since the hold: no payment, the reservation page says why.
        return NextAction("not_eligible", reverse("enrollment:reservation", args=[reservation.pk]))
    return NextAction("pay", payment_port().pay_url(reservation=reservation))


@dataclass(frozen=True)
class Cancellation:
    reservation: Reservation
    refunded: Decimal


def refund_due_on_cancel(*, reservation: Reservation, now: dt.datetime) -> Decimal:
    """Return what the cancellation policy gives back when the member cancels now.

    The policy: cancel at least ``REFUND_FULL_BEFORE_HOURS`` before the first session for
    everything paid back; later, nothing automatically (staff may still refund by hand).
    """
    first = reservation.group.sessions.order_by("starts_at").values_list("starts_at", flat=True).first()
    if first is None or now > first - dt.timedelta(hours=settings.REFUND_FULL_BEFORE_HOURS):
        return Decimal("0.00")
    return payment_port().paid_amount(reservation=reservation)


def reservation_cancel(
    *,
    reservation: Reservation,
    actor: User | None,
    refund: str = "policy",
    reason: str = Reservation.EndReason.MEMBER,
    now: dt.datetime | None = None,
) -> Cancellation:
    """Give up a held or confirmed seat, with its money as ``refund`` says.

    ``policy`` refunds what the cancellation policy allows (members), ``full`` everything
    refundable, ``none`` nothing (staff's choice). The seat goes at once to the next member
    on the waitlist; an open checkout page is closed; the refund and the email are recorded
    in this transaction and go out after it (so a payment settling at the same moment is
    either wholly before, and refunded here, or wholly after, and refunded as unseated).
    """
    if refund not in ("policy", "full", "none"):
        raise InvalidInput("refund must be policy, full or none.", code="invalid_refund_mode")
    now = now or timezone.now()
    port = payment_port()
    with transaction.atomic():
        group = lock_group(reservation.group_id)
        reservation = lock_reservation(reservation.pk)
        was = reservation.status
        reservation.end_reason = reason
        reservation_transition(reservation=reservation, to=Reservation.Status.CANCELLED, actor=actor, now=now)
        # A move from this seat still waiting for its money is withdrawn once this commits,
        # in a transaction of its own: a seat may end under other seats' locks (the
        # attendance rule), where another group's lock may not be taken. Paid before then,
        # it finds this seat gone and is refunded in full.
        moves_withdraw_later(reservation.pk)
        entry = WaitlistEntry.objects.filter(offer=reservation, status=WaitlistEntry.Status.OFFERED).first()
        if entry is not None:
            waitlist_transition(entry=entry, to=WaitlistEntry.Status.DECLINED, actor=actor, now=now)
        offer_free_seats(group, now)
        port.checkouts_close(reservation=reservation)
        if was == Reservation.Status.CONFIRMED:
            # Recorded before the refund, so the member reads "cancelled" before "refunded".
            reservation_notify(reservation, "cancelled")
        due = (
            refund_due_on_cancel(reservation=reservation, now=now) if refund == "policy" else Decimal("0.00")
        )
        refunded = Decimal("0.00")
        if refund == "full" or due > 0:
            refunded = port.refund_all(
                reservation=reservation,
                key=f"cancel-{reservation.pk}",
                reason="cancelled" if refund == "policy" else "staff_cancelled",
                actor=actor,
            )
    logger.info("reservation %s cancelled (was %s)", reservation.pk, was)
    return Cancellation(reservation, refunded.quantize(CENT))


class PaymentOutcome(StrEnum):
    CONFIRMED = "confirmed"
    CONFIRMED_LATE = "confirmed_late"
    UNSEATED = "unseated"  # no seat for this payment: the caller refunds it in full


@dataclass(frozen=True)
class SeatLock:
    """The rows a payment's arrival decides on, locked in order: member, group, reservation."""

    member: User
    group: Group
    reservation: Reservation
    # A held move (``Reservation.moved_from``): the group it leaves, locked with this one.
    source: Group | None = None


def seat_lock(*, reservation_id: int) -> SeatLock:
    """Lock what a payment decision reads (call inside ``atomic``, before the payment's lock).

    The member's row comes first: a profile change in another tab (which locks it too)
    lands wholly before this decision or wholly after it.
    """
    member_id, group_id, moved_from_id = Reservation.objects.values_list(
        "member_id", "group_id", "moved_from_id"
    ).get(pk=reservation_id)
    member = lock_member(member_id)
    if moved_from_id is None:
        group = lock_group(group_id)
        return SeatLock(member, group, lock_reservation(reservation_id))
    # A held move: both groups in id order, then both seats (the older first).
    source_id = Reservation.objects.values_list("group_id", flat=True).get(pk=moved_from_id)
    groups = lock_groups([group_id, source_id])
    seats = {pk: lock_reservation(pk) for pk in sorted((moved_from_id, reservation_id))}
    return SeatLock(member, groups[group_id], seats[reservation_id], source=groups[source_id])


def reservation_payment_arrived(*, seat: SeatLock, now: dt.datetime | None = None) -> PaymentOutcome:
    """A payment for ``seat.reservation`` was received: confirm the seat, confirm it late,
    or unseat the payer (the caller then refunds the payment in full).

    The member must still be allowed in, from the state on their profile now: a hold taken
    in New York is not confirmed for someone who has since told us they live in Texas. A
    payment that arrives after its hold lapsed gets the seat if one is free, re-checked under
    the group lock. The member is told either way.
    """
    now = now or timezone.now()
    member, group, reservation = seat.member, seat.group, seat.reservation
    full_group = Group.objects.select_related("therapist").get(pk=group.pk)
    decision = seat_decision(state=member.state, group=full_group)
    if not decision.eligible and reservation.status in (Reservation.Status.HELD, Reservation.Status.EXPIRED):
        if reservation.status == Reservation.Status.HELD:
            reservation.end_reason = Reservation.EndReason.NOT_ELIGIBLE
            reservation_transition(
                reservation=reservation,
                to=Reservation.Status.CANCELLED,
                actor=None,
                now=now,
                data={"reasons": decision.reason_codes},
            )
            residence_alert_open(
                reservation=reservation,
                old_state=reservation.residence_state,
                new_state=member.state,
                actor=None,
                now=now,
            )
            offer_free_seats(group, now)
        reservation_notify(reservation, "unseated", reason="not_eligible")
        return PaymentOutcome.UNSEATED
    if reservation.moved_from_id is not None:
        return _move_paid(seat=seat, now=now)
    if reservation.status == Reservation.Status.HELD and reservation.expires_at > now:
        reservation_transition(reservation=reservation, to=Reservation.Status.CONFIRMED, actor=None, now=now)
        reservation_notify(reservation, "confirmed")
        return PaymentOutcome.CONFIRMED
    # Paid, but not on a live hold: free the lapsed holds (ours included), then keep the
    # seat for the payer if one is free, before the waitlist is offered what is left.
    release_lapsed_holds(group, now)
    reservation.refresh_from_db()
    if (
        reservation.status == Reservation.Status.EXPIRED
        and group_seats_taken(group=group, now=now) < group.capacity
    ):
        reservation_transition(
            reservation=reservation, to=Reservation.Status.CONFIRMED, actor=None, now=now, data={"late": True}
        )
        reservation_notify(reservation, "confirmed")
        offer_free_seats(group, now)
        return PaymentOutcome.CONFIRMED_LATE
    # No seat to give (full, cancelled, or already confirmed by another payment).
    reservation_notify(reservation, "unseated", reason="no_seat")
    offer_free_seats(group, now)
    return PaymentOutcome.UNSEATED


def _move_paid(*, seat: SeatLock, now: dt.datetime) -> PaymentOutcome:
    """The difference for a held move arrived: the move is done, if the seat it leaves is still
    the member's and the held one still theirs (or free again). Otherwise there is no move for
    this payment: the held seat is let go and the caller refunds the payment in full."""
    group, reservation = seat.group, seat.reservation
    old = Reservation.objects.get(pk=reservation.moved_from_id)
    reservation.moved_from = old
    if reservation.status == Reservation.Status.HELD and reservation.expires_at <= now:
        # Its hold ran out a moment ago and the job has not freed it yet: free the lapsed holds
        # first, then it gets the seat back if one is free (as any late payment does).
        release_lapsed_holds(group, now)
        reservation.refresh_from_db()
        reservation.moved_from = old
    held = reservation.status == Reservation.Status.HELD and reservation.expires_at > now
    lapsed_but_free = (
        reservation.status == Reservation.Status.EXPIRED
        and group_seats_taken(group=group, now=now) < group.capacity
    )
    if old.status == Reservation.Status.CONFIRMED and (held or lapsed_but_free):
        reservation_transition(reservation=reservation, to=Reservation.Status.CONFIRMED, actor=None, now=now)
        move_complete(new=reservation, source=seat.source, now=now)
        reservation_notify(reservation, "moved", old=old.pk)
        return PaymentOutcome.CONFIRMED if held else PaymentOutcome.CONFIRMED_LATE
    if reservation.status == Reservation.Status.HELD:
        reservation.end_reason = Reservation.EndReason.MOVE_WITHDRAWN
        reservation_transition(reservation=reservation, to=Reservation.Status.CANCELLED, actor=None, now=now)
        offer_free_seats(group, now)
    withdrawn = (
        old.status != Reservation.Status.CONFIRMED
        or reservation.end_reason == Reservation.EndReason.MOVE_WITHDRAWN
    )
    reservation_notify(reservation, "unseated", reason="move_withdrawn" if withdrawn else "no_seat")
    return PaymentOutcome.UNSEATED


def reservation_release(*, reservation_id: int, now: dt.datetime | None = None) -> bool:
    """Let a held seat go because its payment is over unpaid (a checkout expired or failed).

    Return whether it was let go; a seat already confirmed, cancelled or expired is left.
    """
    now = now or timezone.now()
    with transaction.atomic():
        group_id = Reservation.objects.values_list("group_id", flat=True).get(pk=reservation_id)
        group = lock_group(group_id)
        reservation = lock_reservation(reservation_id)
        if reservation.status != Reservation.Status.HELD:
            return False
        reservation_transition(reservation=reservation, to=Reservation.Status.EXPIRED, actor=None, now=now)
        offer_free_seats(group, now)
    return True
