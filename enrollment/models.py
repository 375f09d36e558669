"""Reservations (a member's place in a group) and the waitlist for full groups."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from grouport.states import STATE_CHOICES
from groups.models import Group, GroupSession


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


class Reservation(models.Model):
    """A member's place in a group: held while they pay, then confirmed, or let go."""

    class Status(models.TextChoices):
        # "reservation" context: Spanish agrees with "la reserva" (confirmada, cancelada).
        HELD = "held", pgettext_lazy("reservation", "Held")
        CONFIRMED = "confirmed", pgettext_lazy("reservation", "Confirmed")
        CANCELLED = "cancelled", pgettext_lazy("reservation", "Cancelled")
        EXPIRED = "expired", pgettext_lazy("reservation", "Expired")

    class Source(models.TextChoices):
        DIRECT = "direct", "Reserved by the member"
        WAITLIST = "waitlist", "Offered from the waitlist"

    class EndReason(models.TextChoices):
        MEMBER = "member", "Cancelled by the member"
        STAFF = "staff", "Cancelled by staff"
        MOVED = "moved", "Moved to another group"
        OFFER_DECLINED = "offer_declined", "Waitlist offer declined"
        NOT_ELIGIBLE = "not_eligible", "Not eligible when payment arrived"
        ATTENDANCE_RULE = "attendance_rule", "Ended under the group's attendance rule"

    ACTIVE = (Status.HELD, Status.CONFIRMED)
    # The only moves a reservation may make; services check every change against this map.
    TRANSITIONS: dict[str, frozenset[str]] = {
        Status.HELD: frozenset({Status.CONFIRMED, Status.CANCELLED, Status.EXPIRED}),
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

    created_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=20, choices=EndReason.choices, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["group", "status", "expires_at"], name="reservation_seats_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["member", "group"],
                condition=Q(status__in=["held", "confirmed"]),
                name="reservation_one_active_per_member",
            ),
            models.CheckConstraint(
                condition=~Q(status="held") | Q(expires_at__isnull=False),
                name="reservation_held_has_expiry",
            ),
            models.CheckConstraint(
                condition=~Q(status="confirmed") | Q(attested_at__isnull=False),
                name="reservation_confirmed_was_attested",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["held", "confirmed", "cancelled", "expired"]),
                name="reservation_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"Reservation #{self.pk}"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE

    def holds_seat(self, now=None) -> bool:
        """Return whether this reservation takes a seat right now."""
        now = now or timezone.now()
        if self.status == self.Status.CONFIRMED:
            return True
        return self.status == self.Status.HELD and self.expires_at is not None and self.expires_at > now

    def status_at(self, now=None) -> str:
        """Return the status as the member must see it at ``now``: a hold that ran out is
        expired from that moment, whether or not the periodic job has marked it yet."""
        if self.status == self.Status.HELD and not self.holds_seat(now):
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


class Reminder(models.Model):
    """One message about one session to one member, claimed (inserted) before it is sent.

    The unique (session, reservation, kind) row is the claim: whichever job or worker inserts
    it first owns the send, so a reminder goes out once however often the job runs.
    """

    class Kind(models.TextChoices):
        BEFORE_24H = "24h", "24 hours before"
        BEFORE_1H = "1h", "1 hour before"
        SESSION_CANCELLED = "cancelled", "Session cancelled"

    class Status(models.TextChoices):
        PENDING = "pending", "Claimed, not sent yet"
        SENDING = "sending", "Being sent"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed (staff should look)"
        SKIPPED = "skipped", "Not needed any more"

    # Delivery bookkeeping: moved with transition_rows (compare-and-set), not audited (the
    # row is its own record).
    TRANSITIONS: dict[str, frozenset[str]] = {
        Status.PENDING: frozenset({Status.SENDING, Status.SKIPPED}),
        Status.SENDING: frozenset({Status.SENT, Status.PENDING, Status.FAILED}),
        Status.SENT: frozenset(),
        Status.FAILED: frozenset(),
        Status.SKIPPED: frozenset(),
    }

    session = models.ForeignKey(GroupSession, on_delete=models.CASCADE, related_name="reminders")
    reservation = models.ForeignKey(Reservation, on_delete=models.CASCADE, related_name="reminders")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    batch = models.CharField(max_length=32, blank=True, help_text="The job run that claimed it.")
    last_error = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["session", "reservation", "kind"], name="reminder_once"),
        ]
        indexes = [models.Index(fields=["batch"]), models.Index(fields=["status", "updated_at"])]

    def __str__(self) -> str:
        return f"Reminder #{self.pk}"


class Attendance(models.Model):
    """Whether a member came to one session: from their check-in, their "I can't make it
    this week", the close of the session (absent), or their therapist, who may correct any."""

    class Status(models.TextChoices):
        PRESENT = "present", "Present"
        ABSENT = "absent", "Absent"
        EXCUSED = "excused", "Excused"

    class Source(models.TextChoices):
        THERAPIST = "therapist", "Marked by the therapist"
        CHECK_IN = "check_in", "Checked in"
        MEMBER_NOTICE = "member_notice", "Told us ahead"
        SESSION_CLOSED = "session_closed", "Not joined by the end"
        CHECK_IN_REFUSED = "check_in_refused", "Tried to join from a state outside the license"

    # A therapist may correct any mark.
    TRANSITIONS: dict[str, frozenset[str]] = {
        Status.PRESENT: frozenset({Status.ABSENT, Status.EXCUSED}),
        Status.ABSENT: frozenset({Status.PRESENT, Status.EXCUSED}),
        Status.EXCUSED: frozenset({Status.PRESENT, Status.ABSENT}),
    }

    session = models.ForeignKey(GroupSession, on_delete=models.CASCADE, related_name="attendance")
    reservation = models.ForeignKey(Reservation, on_delete=models.CASCADE, related_name="attendance")
    status = models.CharField(max_length=10, choices=Status.choices)
    marked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    marked_at = models.DateTimeField(default=timezone.now)
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.THERAPIST)
    joined_at = models.DateTimeField(null=True, blank=True, help_text="When the member checked in.")

    class Meta:
        verbose_name_plural = "attendance"
        constraints = [
            models.UniqueConstraint(fields=["session", "reservation"], name="attendance_once_per_session"),
        ]
        indexes = [models.Index(fields=["reservation", "status"])]

    def __str__(self) -> str:
        return f"Attendance #{self.pk}"


class CheckIn(models.Model):
    """A member's check-in before a session's video: where they said they are, and whether
    that let them in (licensing follows where the member is during the session).

    One admitted check-in per member and session (a second tap, or two at once, is the
    same check-in); refused ones are all kept, for the therapist's roster and the audit.
    """

    session = models.ForeignKey(GroupSession, on_delete=models.CASCADE, related_name="check_ins")
    reservation = models.ForeignKey(Reservation, on_delete=models.CASCADE, related_name="check_ins")
    at = models.DateTimeField(default=timezone.now)
    state = models.CharField(
        "state they were in", max_length=2, choices=STATE_CHOICES, blank=True,
        help_text="Blank for a skills group's one-tap check-in.",
    )  # fmt: skip
    admitted = models.BooleanField()
    reasons = models.JSONField(default=list, blank=True, help_text="Why they were not let in (codes).")
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "reservation"], condition=Q(admitted=True), name="check_in_admitted_once"
            ),
        ]
        indexes = [models.Index(fields=["session", "admitted"])]

    def __str__(self) -> str:
        return f"Check-in #{self.pk}"


class SessionClosing(models.Model):
    """That a session's attendance was closed (absences marked, misses counted): once each."""

    session = models.OneToOneField(
        GroupSession, on_delete=models.CASCADE, primary_key=True, related_name="closing"
    )
    closed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"Session {self.session_id} closed"


class AttendanceFlag(models.Model):
    """Sessions missed in a row without notice, counted when a session closes: a caring email
    to the member and a note on the roster at each step, and, at the group's limit, a
    decision for a person (never the computer) to make. Open until a clinician reviews it."""

    class Status(models.TextChoices):
        OPEN = "open", "Needs review"
        REVIEWED = "reviewed", "Reviewed"
        SEAT_ENDED = "seat_ended", "Seat ended under the attendance rule"

    TRANSITIONS: dict[str, frozenset[str]] = {
        Status.OPEN: frozenset({Status.REVIEWED, Status.SEAT_ENDED}),
        Status.REVIEWED: frozenset(),
        Status.SEAT_ENDED: frozenset(),
    }

    reservation = models.ForeignKey(Reservation, on_delete=models.CASCADE, related_name="attendance_flags")
    session = models.ForeignKey(
        GroupSession, on_delete=models.CASCADE, related_name="+", help_text="The session that made the count."
    )
    misses = models.PositiveSmallIntegerField(help_text="Sessions missed in a row without notice.")
    limit = models.PositiveSmallIntegerField(help_text="The group's rule when this was counted.")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(default=timezone.now)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["reservation", "session"], name="attendance_flag_once_per_session"
            ),
        ]

    def __str__(self) -> str:
        return f"Attendance flag #{self.pk}"

    @property
    def limit_reached(self) -> bool:
        return self.misses >= self.limit


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


class Measure(models.Model):
    """A questionnaire, as data: its wording in English and Spanish, its answers, its severity
    bands and which item (if any) needs a person to look at once. PHQ-9 and GAD-7 are loaded
    by a migration (``enrollment/measures.py``); a clinic can add another the same way."""

    code = models.CharField(max_length=20)
    version = models.PositiveSmallIntegerField(default=1)
    title = models.CharField(max_length=200)
    title_es = models.CharField(max_length=200)
    instructions = models.TextField()
    instructions_es = models.TextField()
    options = models.JSONField(help_text='[{"value": 0, "label": "...", "label_es": "..."}, ...]')
    bands = models.JSONField(help_text='[{"min": 0, "max": 4, "label": "...", "label_es": "..."}, ...]')
    safety_item = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="An item whose answer above the first option alerts a clinician at once.",
    )
    active = models.BooleanField(default=True, help_text="Asked in new questionnaires.")
    position = models.PositiveSmallIntegerField(default=0, help_text="Order in a questionnaire.")
    follow_up = models.JSONField(
        default=dict,
        blank=True,
        help_text='An unscored closing question, optional to answer: {"text", "text_es", "options"}.',
    )

    class Meta:
        ordering = ["position", "code", "version"]
        constraints = [
            models.UniqueConstraint(fields=["code", "version"], name="measure_code_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.code} v{self.version}"

    def in_language(self, field: str, language: str) -> str:
        return getattr(self, f"{field}_es") if language.startswith("es") else getattr(self, field)


class MeasureItem(models.Model):
    measure = models.ForeignKey(Measure, on_delete=models.CASCADE, related_name="items")
    number = models.PositiveSmallIntegerField()
    text = models.TextField()
    text_es = models.TextField()

    class Meta:
        ordering = ["measure", "number"]
        constraints = [models.UniqueConstraint(fields=["measure", "number"], name="measure_item_unique")]

    def __str__(self) -> str:
        return f"{self.measure.code} item {self.number}"


class OutcomeSurvey(models.Model):
    """One member's questionnaires at one point of their program: before it starts, at its
    midpoint, at its last session. Created once per seat and time point (the periodic job's
    claim), open for a few days, answered once."""

    class TimePoint(models.TextChoices):
        BASELINE = "baseline", _("Before the first session")
        MIDPOINT = "midpoint", _("Midway through the program")
        END = "end", _("At the last session")

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ANSWERED = "answered", "Answered"
        EXPIRED = "expired", "Closed unanswered"

    TRANSITIONS: dict[str, frozenset[str]] = {
        Status.OPEN: frozenset({Status.ANSWERED, Status.EXPIRED}),
        Status.ANSWERED: frozenset(),
        Status.EXPIRED: frozenset(),
    }

    reservation = models.ForeignKey(Reservation, on_delete=models.CASCADE, related_name="outcome_surveys")
    time_point = models.CharField(max_length=10, choices=TimePoint.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    opens_at = models.DateTimeField()
    closes_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)
    answered_at = models.DateTimeField(null=True, blank=True)
    measures = models.ManyToManyField(Measure, related_name="+", help_text="What this questionnaire asks.")

    class Meta:
        ordering = ["reservation", "opens_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["reservation", "time_point"], name="outcome_survey_once_per_point"
            ),
        ]
        indexes = [models.Index(fields=["status", "closes_at"])]

    def __str__(self) -> str:
        return f"Questionnaire #{self.pk}"


class MeasureResponse(models.Model):
    """A member's answers to one measure, with the total and band as scored when answered."""

    survey = models.ForeignKey(OutcomeSurvey, on_delete=models.CASCADE, related_name="responses")
    measure = models.ForeignKey(Measure, on_delete=models.PROTECT, related_name="+")
    answers = models.JSONField(help_text='{"1": 0, "2": 3, ...}: item number to the value chosen.')
    total = models.PositiveSmallIntegerField()
    band = models.PositiveSmallIntegerField(help_text="Index into the measure's bands.")
    follow_up = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="The answer to the measure's unscored closing question, if given."
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["survey", "measure__position"]
        constraints = [models.UniqueConstraint(fields=["survey", "measure"], name="measure_response_once")]

    def __str__(self) -> str:
        return f"Response #{self.pk}"

    @property
    def band_label(self) -> str:
        return self.measure.bands[self.band]["label"]


class SafetyAlert(models.Model):
    """A member's answer that needs a person to look at once (PHQ-9 item 9 above "Not at
    all"): the therapist and the on-call address are emailed within a minute, and the roster
    shows it until a clinician marks it reviewed, with a note. Nothing here is automated care."""

    class Status(models.TextChoices):
        OPEN = "open", "Needs a clinician"
        REVIEWED = "reviewed", "Reviewed"

    TRANSITIONS: dict[str, frozenset[str]] = {
        Status.OPEN: frozenset({Status.REVIEWED}),
        Status.REVIEWED: frozenset(),
    }

    survey = models.ForeignKey("OutcomeSurvey", on_delete=models.CASCADE, related_name="safety_alerts")
    # The scored answers; empty when the safety answer came with a questionnaire that could
    # not be kept (closed meanwhile, or not finished): the alert is raised all the same.
    response = models.OneToOneField(
        MeasureResponse, null=True, blank=True, on_delete=models.CASCADE, related_name="safety_alert"
    )
    safety_answers = models.JSONField(
        default=dict, blank=True, help_text="The safety question's answer, by measure and item."
    )
    reservation = models.ForeignKey(Reservation, on_delete=models.CASCADE, related_name="safety_alerts")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(default=timezone.now)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"Safety alert #{self.pk}"
