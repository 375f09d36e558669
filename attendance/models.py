"""Turning up: each session's attendance, check-ins, reminders, and the attendance rule's flags.

Every model keeps the table it had in enrollment before the split (``db_table``), so an
upgrade moves no row.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from enrollment.models import Reservation
from grouport.states import STATE_CHOICES
from groups.models import GroupSession


class Reminder(models.Model):
    """One message about one session to one member, claimed (inserted) before it is sent.

    The unique (session, reservation, kind) row is the claim: whichever job or worker inserts
    it first owns the send, so a reminder goes out once however often the job runs. Its email
    is an outbox message (key ``reminder-<id>``), whose tries and errors staff see there.
    """

    class Kind(models.TextChoices):
        BEFORE_24H = "24h", "24 hours before"
        BEFORE_1H = "1h", "1 hour before"
        # A text before the session, to a member who asked for texts (TEXT_REMINDER_MINUTES).
        TEXT = "text", "Text before the session"
        SESSION_CANCELLED = "cancelled", "Session cancelled"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed (staff should look)"
        SKIPPED = "skipped", "Not needed any more"

    # Delivery bookkeeping: moved with transition_rows (compare-and-set), not audited (the
    # row is its own record).
    TRANSITIONS: dict[str, frozenset[str]] = {
        Status.PENDING: frozenset({Status.SENT, Status.SKIPPED, Status.FAILED}),
        Status.SENT: frozenset(),
        Status.FAILED: frozenset(),
        Status.SKIPPED: frozenset(),
    }

    session = models.ForeignKey(GroupSession, on_delete=models.CASCADE, related_name="reminders")
    reservation = models.ForeignKey(Reservation, on_delete=models.CASCADE, related_name="reminders")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    batch = models.CharField(max_length=32, blank=True, help_text="The job run that claimed it.")
    last_error = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "enrollment_reminder"
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
        db_table = "enrollment_attendance"
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
    # The emergency plan for this session (therapy groups): at the usual address on their
    # intake, or where they said they are. Shown to the therapist during the session only.
    at_usual_address = models.BooleanField(null=True, blank=True)
    location = models.CharField(
        "where they are for this session", max_length=300, blank=True,
        help_text="Street and city, or a place help could be sent to, when not at their usual address.",
    )  # fmt: skip
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    # The video room's lobby, ours (attendance/services/room.py): an admitted member asks for
    # the way in and waits until the therapist lets them in; only then is a way in made.
    knocked_at = models.DateTimeField(
        "asked to be let in", null=True, blank=True, help_text="When they first asked for the way in."
    )
    let_in_at = models.DateTimeField(null=True, blank=True, help_text="When the therapist let them in.")
    let_in_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        db_table = "enrollment_checkin"
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

    class Meta:
        db_table = "enrollment_sessionclosing"

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
        db_table = "enrollment_attendanceflag"
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
