"""Reservations (a member's place in a group) and the waitlist for full groups."""

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from grouport.states import STATE_CHOICES
from groups.models import Group


class GroupAgreement(models.Model):
    """The group agreement a member accepts when they take a seat: attendance,
    confidentiality, the crisis plan. Versioned: a change is a new version, and every
    reservation keeps the version its member accepted."""

    version = models.PositiveSmallIntegerField(unique=True)
    body = models.TextField(help_text="In English. Paragraphs separated by a blank line.")
    body_es = models.TextField("body (Spanish)", help_text="The same text in Spanish.")
    published_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-version"]

    def __str__(self) -> str:
        return f"Group agreement v{self.version}"

    def body_in(self, language: str) -> str:
        return self.body_es if language.startswith("es") and self.body_es else self.body


class ReservationQuerySet(models.QuerySet):
    """The seat rules as queries, written once (``Reservation.takes_a_seat`` is the same rule
    for one row in Python)."""

    def taking_seats(self, now: dt.datetime) -> "ReservationQuerySet":
        """Those that take a seat at ``now``: confirmed, or held and not yet lapsed. A hold
        stops counting the moment it lapses, whether or not a job has marked it expired."""
        return self.filter(Reservation.takes_a_seat_q(now))

    def holding(self, now: dt.datetime) -> "ReservationQuerySet":
        """Holds still running at ``now`` (a member is paying, or deciding on an offer)."""
        return self.filter(status=Reservation.Status.HELD, expires_at__gt=now)

    def in_review(self, now: dt.datetime) -> "ReservationQuerySet":
        """Seats held while a clinician reviews the member's intake, not yet lapsed."""
        return self.filter(status=Reservation.Status.REVIEW, expires_at__gt=now)

    def lapsed_holds(self, now: dt.datetime) -> "ReservationQuerySet":
        """Holds (for payment or for review) that ran out by ``now``, not marked expired yet."""
        return self.filter(status__in=Reservation.HOLDS, expires_at__lte=now)

    def seats_taken(self, now: dt.datetime) -> int:
        return self.taking_seats(now).count()


class Reservation(models.Model):
    """A member's place in a group: held while they pay, then confirmed, or let go."""

    class Status(models.TextChoices):
        # "reservation" context: Spanish agrees with "la reserva" (confirmada, cancelada).
        HELD = "held", pgettext_lazy("reservation", "Held")
        # Held while a clinician reviews the member's intake (a group with requires_review,
        # or screening answers that need a clinician): no payment until approved.
        REVIEW = "review", pgettext_lazy("reservation", "Held for review")
        CONFIRMED = "confirmed", pgettext_lazy("reservation", "Confirmed")
        CANCELLED = "cancelled", pgettext_lazy("reservation", "Cancelled")
        EXPIRED = "expired", pgettext_lazy("reservation", "Expired")

    class Source(models.TextChoices):
        DIRECT = "direct", "Reserved by the member"
        WAITLIST = "waitlist", "Offered from the waitlist"
        MOVE = "move", "A move to a dearer group, held until the difference is paid"

    class EndReason(models.TextChoices):
        MEMBER = "member", "Cancelled by the member"
        STAFF = "staff", "Cancelled by staff"
        MOVED = "moved", "Moved to another group"
        OFFER_DECLINED = "offer_declined", "Waitlist offer declined"
        NOT_ELIGIBLE = "not_eligible", "Not eligible when payment arrived"
        ATTENDANCE_RULE = "attendance_rule", "Ended under the group's attendance rule"
        REVIEW_DECLINED = "review_declined", "Declined after the intake review"
        MOVE_WITHDRAWN = (
            "move_withdrawn",
            "A move waiting for payment, withdrawn (the seat it was from changed)",
        )

    ACTIVE = (Status.HELD, Status.REVIEW, Status.CONFIRMED)
    # Statuses that hold a seat until ``expires_at``.
    HOLDS = (Status.HELD, Status.REVIEW)
    # The only moves a reservation may make; services check every change against this map.
    TRANSITIONS: dict[str, frozenset[str]] = {
        # To review: a waitlist offer accepted in a group that reviews intakes.
        Status.HELD: frozenset({Status.CONFIRMED, Status.CANCELLED, Status.EXPIRED, Status.REVIEW}),
        # Approved: held for payment (a paid group) or confirmed (a free one); declined:
        # cancelled; not reviewed in time: expired, and the seat goes to the waitlist.
        Status.REVIEW: frozenset({Status.HELD, Status.CONFIRMED, Status.CANCELLED, Status.EXPIRED}),
        Status.CONFIRMED: frozenset({Status.CANCELLED}),
        Status.CANCELLED: frozenset(),
        # Only a payment that arrives after its hold lapsed, and only if a seat is free
        # (enrollment's reservation_payment_arrived re-checks under the group lock).
        Status.EXPIRED: frozenset({Status.CONFIRMED}),
    }

    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reservations"
    )
    group = models.ForeignKey(Group, on_delete=models.PROTECT, related_name="reservations")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.HELD)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.DIRECT)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="When a held seat is let go.")

    # What the member attested when they took the seat (an offer from the waitlist is held
    # for them first and attested when they accept it).
    residence_state = models.CharField(max_length=2, choices=STATE_CHOICES, blank=True)
    attested_at = models.DateTimeField(null=True, blank=True)
    agreement = models.ForeignKey(
        GroupAgreement, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text="The version of the group agreement the member accepted.",
    )  # fmt: skip

    # A move to a dearer group (enrollment/services/moves.py): this seat is held while the
    # member pays the difference; paid, it replaces ``moved_from``, which stays theirs until then.
    moved_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=20, choices=EndReason.choices, blank=True)
    # The intake review, when the group asks for one.
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.TextField(
        blank=True, help_text="Why, in a clinician's words (never shown to the member)."
    )
    updated_at = models.DateTimeField(auto_now=True)

    objects = ReservationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["group", "status", "expires_at"], name="reservation_seats_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["member", "group"],
                condition=Q(status__in=["held", "review", "confirmed"]),
                name="reservation_one_active_per_member",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["held", "review"]) | Q(expires_at__isnull=False),
                name="reservation_held_has_expiry",
            ),
            models.CheckConstraint(
                condition=~Q(status="confirmed") | Q(attested_at__isnull=False),
                name="reservation_confirmed_was_attested",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["held", "review", "confirmed", "cancelled", "expired"]),
                name="reservation_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"Reservation #{self.pk}"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE

    @staticmethod
    def takes_a_seat_q(now: dt.datetime, prefix: str = "") -> Q:
        """The rule "a seat is taken" as a filter (``prefix`` for a related reservation)."""
        return Q(**{f"{prefix}status": Reservation.Status.CONFIRMED}) | Q(
            **{f"{prefix}status__in": Reservation.HOLDS, f"{prefix}expires_at__gt": now}
        )

    def takes_a_seat(self, now: dt.datetime | None = None) -> bool:
        """The same rule for this row: confirmed, or held (for payment or review) and not yet
        lapsed at ``now``."""
        now = now or timezone.now()
        if self.status == self.Status.CONFIRMED:
            return True
        return self.status in self.HOLDS and self.expires_at is not None and self.expires_at > now

    def status_at(self, now=None) -> str:
        """Return the status as the member must see it at ``now``: a hold that ran out is
        expired from that moment, whether or not the periodic job has marked it yet."""
        if self.status in self.HOLDS and not self.takes_a_seat(now):
            return self.Status.EXPIRED
        return self.status


class WaitlistEntry(models.Model):
    """A member queued for a full group; first in, first offered."""

    class Status(models.TextChoices):
        WAITING = "waiting", _("Waiting")
        OFFERED = "offered", _("Offered a seat")
        ACCEPTED = "accepted", _("Accepted")
        DECLINED = "declined", _("Declined")
        LAPSED = "lapsed", _("Offer lapsed")
        LEFT = "left", _("Left the waitlist")

    AUDIT_NAME = "waitlist"
    ACTIVE = (Status.WAITING, Status.OFFERED)
    TRANSITIONS: dict[str, frozenset[str]] = {
        Status.WAITING: frozenset({Status.OFFERED, Status.LEFT}),
        # Back to waiting (place kept) when the member may no longer join from their state.
        Status.OFFERED: frozenset({Status.ACCEPTED, Status.DECLINED, Status.LAPSED, Status.WAITING}),
        Status.ACCEPTED: frozenset(),
        Status.DECLINED: frozenset(),
        Status.LAPSED: frozenset(),
        Status.LEFT: frozenset(),
    }

    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="waitlist_entries"
    )
    group = models.ForeignKey(Group, on_delete=models.PROTECT, related_name="waitlist_entries")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.WAITING)
    # The held seat an offer reserves for this member while they decide.
    offer = models.OneToOneField(
        Reservation, null=True, blank=True, on_delete=models.PROTECT, related_name="waitlist_entry"
    )
    created_at = models.DateTimeField(default=timezone.now)
    offered_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name_plural = "waitlist entries"
        indexes = [models.Index(fields=["group", "status", "created_at"], name="waitlist_queue_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["member", "group"],
                condition=Q(status__in=["waiting", "offered"]),
                name="waitlist_one_active_per_member",
            ),
            models.CheckConstraint(
                condition=~Q(status="offered") | Q(offer__isnull=False),
                name="waitlist_offer_has_seat",
            ),
        ]

    def __str__(self) -> str:
        return f"Waitlist entry #{self.pk}"


class ResidenceAlert(models.Model):
    """A member with a seat in a therapy group told us they now live where the group's
    therapist may not treat them. Shown on the group's roster until a clinician reviews it.

    Moving away mid-program is a clinical matter: the seat is neither kept silently nor
    dropped silently. The member is told plainly, the therapist and staff are alerted, and
    a person decides.
    """

    class Status(models.TextChoices):
        OPEN = "open", "Needs review"
        REVIEWED = "reviewed", "Reviewed"

    TRANSITIONS: dict[str, frozenset[str]] = {
        Status.OPEN: frozenset({Status.REVIEWED}),
        Status.REVIEWED: frozenset(),
    }

    reservation = models.ForeignKey(Reservation, on_delete=models.CASCADE, related_name="residence_alerts")
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="residence_alerts")
    old_state = models.CharField(max_length=2, choices=STATE_CHOICES, blank=True)
    new_state = models.CharField(max_length=2, choices=STATE_CHOICES, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(default=timezone.now)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["reservation"], condition=Q(status="open"), name="residence_alert_one_open"
            ),
        ]

    def __str__(self) -> str:
        return f"Residence alert #{self.pk}"


class SeatReview(Reservation):
    """A seat held while a clinician reviews the member's intake: the admin's review queue
    (the same rows as ``Reservation``; approve or decline through ``services/review.py``)."""

    class Meta:
        proxy = True
        verbose_name = "intake review"

    def __str__(self) -> str:
        return f"Review #{self.pk}"
