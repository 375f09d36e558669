"""Care: outcome questionnaires (measures as data, a member's answers) and the safety net.

Every model keeps the table it had in enrollment before the split (``db_table``), so an
upgrade moves no row.
"""

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from enrollment.models import Reservation


class Measure(models.Model):
    """A questionnaire, as data: its wording in English and Spanish, its answers, its severity
    bands and which item (if any) needs a person to look at once. PHQ-9 and GAD-7 are loaded
    by a migration (``care/measures.py``); a clinic can add another the same way."""

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
    reliable_change = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text=(
            "A change of at least this many points from the start of a program to its end counts as "
            "reliable (improved, or got worse) in the outcome figures. Empty: the figures say none is set."
        ),
    )
    active = models.BooleanField(default=True, help_text="Asked in new questionnaires.")
    position = models.PositiveSmallIntegerField(default=0, help_text="Order in a questionnaire.")
    follow_up = models.JSONField(
        default=dict,
        blank=True,
        help_text='An unscored closing question, optional to answer: {"text", "text_es", "options"}.',
    )

    class Meta:
        db_table = "enrollment_measure"
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
        db_table = "enrollment_measureitem"
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
        db_table = "enrollment_outcomesurvey"
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
        db_table = "enrollment_measureresponse"
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
        ACKNOWLEDGED = "acknowledged", "A clinician has it"
        REVIEWED = "reviewed", "Reviewed"

    TRANSITIONS: dict[str, frozenset[str]] = {
        Status.OPEN: frozenset({Status.ACKNOWLEDGED, Status.REVIEWED}),
        Status.ACKNOWLEDGED: frozenset({Status.REVIEWED}),
        Status.REVIEWED: frozenset(),
    }
    # Not reviewed yet: on the roster, and where a second unfinished answer attaches.
    UNREVIEWED = (Status.OPEN, Status.ACKNOWLEDGED)

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
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(default=timezone.now)
    # The on-call clinician who took it (a tap on the link, or a reply with the code): the
    # pages stop. Reviewing it (with a note) takes it too.
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_via = models.CharField(max_length=8, blank=True)
    # What a paged clinician replies to acknowledge it by text.
    code = models.CharField(max_length=8, blank=True, db_index=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.TextField(blank=True)

    class Meta:
        db_table = "enrollment_safetyalert"
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"Safety alert #{self.pk}"


class OnCallClinician(models.Model):
    """Someone on the clinic's on-call rota: their phone, their zone, and whether they lead
    the care team (paged when an alert goes unacknowledged twice as long)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="on_call")
    # E.164 (+12125550123), validated with phonenumbers.
    phone = models.CharField(max_length=16)
    zone = models.CharField(
        max_length=64,
        default="America/New_York",
        help_text="Where they are on call: the alert page tells them times in it.",
    )
    is_lead = models.BooleanField(
        "care-team lead",
        default=False,
        help_text="Paged for every alert not acknowledged in time, on shift or not.",
    )
    active = models.BooleanField(
        default=True, help_text="Off: no new shifts page them (pages already sent go on)."
    )

    class Meta:
        verbose_name = "on-call clinician"
        ordering = ["user__last_name", "user__first_name", "pk"]

    def __str__(self) -> str:
        return self.user.get_full_name() or self.user.email


class OnCallShift(models.Model):
    """A stretch of time someone is on call. At any moment the rota is the shifts that cover
    it, first the lowest position: the first is paged at once, the next after the escalation
    time, everyone on it after twice that."""

    clinician = models.ForeignKey(OnCallClinician, on_delete=models.CASCADE, related_name="shifts")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    position = models.PositiveSmallIntegerField(default=1, help_text="1: paged first; 2: next; and so on.")

    class Meta:
        ordering = ["starts_at", "position", "pk"]
        indexes = [models.Index(fields=["starts_at", "ends_at"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="shift_ends_after_start",
                violation_error_message="A shift ends after it starts.",
            )
        ]

    def __str__(self) -> str:
        return f"Shift #{self.pk}"


class AlertStep(models.Model):
    """One step of an alert's escalation (0: at once; 1: not acknowledged in time; 2: twice
    that), claimed once under a unique constraint so a job that runs twice pages once."""

    alert = models.ForeignKey(SafetyAlert, on_delete=models.CASCADE, related_name="steps")
    step = models.PositiveSmallIntegerField()
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["alert", "step"]
        constraints = [models.UniqueConstraint(fields=["alert", "step"], name="alert_step_once")]

    def __str__(self) -> str:
        return f"Alert #{self.alert_id} step {self.step}"


class AlertPage(models.Model):
    """One person paged at one step: a text, and a call, each a text row of its own."""

    alert = models.ForeignKey(SafetyAlert, on_delete=models.CASCADE, related_name="pages")
    step = models.PositiveSmallIntegerField()
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    phone = models.CharField(max_length=16)
    text = models.OneToOneField(
        "texting.TextMessage", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    call = models.OneToOneField(
        "texting.TextMessage", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["alert", "step", "pk"]
        constraints = [models.UniqueConstraint(fields=["alert", "step", "recipient"], name="alert_page_once")]

    def __str__(self) -> str:
        return f"Page #{self.pk}"


ICD10_SHAPE = re.compile(r"^[A-TV-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?$")


def icd10_check(value: str) -> None:
    """An ICD-10-CM code's shape: a letter (not U), a digit, a digit or letter, then an
    optional dot and one to four more ("F43.10", "F60.3"). Whether it exists is the
    therapist's to know; its shape is ours to check."""
    if not ICD10_SHAPE.match(value):
        raise ValidationError('Not an ICD-10-CM code: for example "F43.10" or "F60.3".')


class SuperbillRequest(models.Model):
    """A member asks for a superbill for their therapy seat (to claim the fee back from their
    insurer as out-of-network care). The group's therapist (or staff) adds the diagnosis code
    once, audited; the superbill itself is drawn fresh from the attendance sheet and the
    payments each time it is opened (portal/superbills.py), so it follows every correction."""

    reservation = models.OneToOneField(Reservation, on_delete=models.CASCADE, related_name="superbill")
    requested_at = models.DateTimeField(default=timezone.now)
    diagnosis_code = models.CharField(
        "diagnosis (ICD-10-CM)", max_length=8, blank=True, validators=[icd10_check]
    )
    diagnosis_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    diagnosis_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]

    def __str__(self) -> str:
        return f"Superbill request #{self.pk}"
