"""What the clinic needs before a therapy seat: the member's intake (age, how to reach them
and someone close, where they usually attend from), screening answers, and their signed
consent to telehealth group treatment, by version.

All of it is health information: shown only to the member, the therapists of their groups
and staff (every look audited), never in an email, a calendar file, a log line or Stripe.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from grouport.states import STATE_CHOICES


class MemberIntake(models.Model):
    """One per member, kept and confirmed again when stale (``INTAKE_FRESH_DAYS``)."""

    member = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="intake")
    birth_date = models.DateField(_("date of birth"))
    # E.164 (+12125550123), validated and formatted with phonenumbers.
    phone = models.CharField(_("mobile number"), max_length=16, blank=True)
    emergency_name = models.CharField(_("emergency contact's name"), max_length=150, blank=True)
    emergency_relationship = models.CharField(_("relationship to you"), max_length=60, blank=True)
    emergency_phone = models.CharField(_("emergency contact's phone"), max_length=16, blank=True)
    address_line = models.CharField(_("street address"), max_length=200, blank=True)
    address_city = models.CharField(_("city"), max_length=100, blank=True)
    address_state = models.CharField(_("state"), max_length=2, choices=STATE_CHOICES, blank=True)
    address_postal_code = models.CharField(_("ZIP code"), max_length=10, blank=True)
    confirmed_at = models.DateTimeField(default=timezone.now, help_text="When the member last confirmed it.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "member intake"

    def __str__(self) -> str:
        return f"Intake #{self.pk}"

    THERAPY_FIELDS = (
        "phone",
        "emergency_name",
        "emergency_relationship",
        "emergency_phone",
        "address_line",
        "address_city",
        "address_state",
        "address_postal_code",
    )

    @property
    def usual_address(self) -> str:
        """The address on one line, as the check-in asks "Are you at …?"."""
        parts = [
            self.address_line,
            self.address_city,
            f"{self.address_state} {self.address_postal_code}".strip(),
        ]
        return ", ".join(p for p in parts if p)


class ScreeningQuestion(models.Model):
    """A question the clinic asks before a therapy seat, written in the admin in both
    languages. ``flags_on`` says which answers need a clinician's eyes."""

    class Kind(models.TextChoices):
        YES_NO = "yes_no", "Yes or no"
        CHOICE = "choice", "One of a few choices"
        TEXT = "text", "Short text"

    position = models.PositiveSmallIntegerField(default=0)
    text = models.CharField(max_length=300, help_text="In English.")
    text_es = models.CharField("text (Spanish)", max_length=300)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.YES_NO)
    choices = models.TextField(blank=True, help_text="Choice questions: one choice per line, in English.")
    choices_es = models.TextField(
        "choices (Spanish)", blank=True, help_text="The same choices, in the same order, in Spanish."
    )
    flags_on = models.TextField(
        "answers that need a clinician",
        blank=True,
        help_text=(
            "One per line. Yes/no questions: yes or no. Choice questions: the English choice. "
            "Short text: * for any answer. Blank: no answer needs a clinician."
        ),
    )
    active = models.BooleanField(default=True, help_text="Asked of members now.")
    created_at = models.DateTimeField(default=timezone.now)
    # When its wording last changed (blank: never): everyone who answered before is asked
    # again (their answer was to other words).
    changed_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return f"Screening question #{self.pk}"


class ScreeningAnswer(models.Model):
    """A member's latest answer to a question (earlier ones are in the audit trail's ids)."""

    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="screening_answers"
    )
    question = models.ForeignKey(ScreeningQuestion, on_delete=models.PROTECT, related_name="answers")
    answer = models.CharField(max_length=500)
    needs_clinician = models.BooleanField(default=False)
    answered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["member", "question"], name="screening_answer_once")]

    def __str__(self) -> str:
        return f"Screening answer #{self.pk}"


class ScreeningFlag(models.Model):
    """Answers that need a clinician's eyes: shown on the rosters of the member's groups (and
    sending a therapy seat to review) until a clinician writes what was decided."""

    class Status(models.TextChoices):
        OPEN = "open", "Needs review"
        REVIEWED = "reviewed", "Reviewed"

    AUDIT_NAME = "screening_flag"
    TRANSITIONS: dict[str, frozenset[str]] = {
        Status.OPEN: frozenset({Status.REVIEWED}),
        Status.REVIEWED: frozenset(),
    }

    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="screening_flags"
    )
    questions = models.JSONField(default=list, help_text="The questions whose answers raised it (ids).")
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
                fields=["member"], condition=Q(status="open"), name="screening_flag_one_open"
            ),
        ]

    def __str__(self) -> str:
        return f"Screening flag #{self.pk}"


class ConsentVersion(models.Model):
    """Informed consent to telehealth group treatment. Versioned: publishing a new version
    asks every member again before their next reservation and at their next check-in."""

    version = models.PositiveSmallIntegerField(unique=True)
    body = models.TextField(help_text="In English. Paragraphs separated by a blank line.")
    body_es = models.TextField("body (Spanish)", help_text="The same text in Spanish.")
    published_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-version"]

    def __str__(self) -> str:
        return f"Telehealth consent v{self.version}"

    def body_in(self, language: str) -> str:
        return self.body_es if language.startswith("es") and self.body_es else self.body


class ConsentSignature(models.Model):
    """A member signed a version, by typing their full name: kept with the time and address."""

    member = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="consents")
    version = models.ForeignKey(ConsentVersion, on_delete=models.PROTECT, related_name="signatures")
    signed_name = models.CharField(max_length=200)
    signed_at = models.DateTimeField(default=timezone.now)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-signed_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["member", "version"], name="consent_signed_once")]

    def __str__(self) -> str:
        return f"Consent signature #{self.pk}"
