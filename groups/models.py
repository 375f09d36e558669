"""The catalog: therapists and their licenses, groups, and each group's weekly sessions."""

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from grouport.states import OUTSIDE_US, STATE_CHOICES, TIME_ZONE_CHOICES, TIME_ZONE_NAMES


class Module(models.TextChoices):
    """The DBT skills modules, in the order a cohort usually meets them."""

    CORE_PRINCIPLES = "core_principles", _("DBT core principles")
    MINDFULNESS = "mindfulness", _("Mindfulness")
    DISTRESS_TOLERANCE = "distress_tolerance", _("Distress tolerance")
    EMOTION_REGULATION = "emotion_regulation", _("Emotion regulation")
    INTERPERSONAL_EFFECTIVENESS = "interpersonal_effectiveness", _("Interpersonal effectiveness")


MODULE_ORDER = {code: index for index, code in enumerate(Module.values)}

# "Tuesdays": a group's weekly day as a sentence says it (Spanish: "los martes").
WEEKDAYS_PLURAL = {
    0: _("Mondays"),
    1: _("Tuesdays"),
    2: _("Wednesdays"),
    3: _("Thursdays"),
    4: _("Fridays"),
    5: _("Saturdays"),
    6: _("Sundays"),
}

LICENSE_STATE_CHOICES = [(code, name) for code, name in STATE_CHOICES if code != OUTSIDE_US]


def npi_valid(value: str) -> bool:
    """Whether ``value`` is an NPI: ten digits, the last a Luhn check digit computed with the
    prefix 80840 (CMS, "Requirements for NPI Check Digit")."""
    if len(value) != 10 or not value.isdigit():
        return False
    digits = [int(d) for d in "80840" + value[:9]]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 0:
            d *= 2
            d = d - 9 if d > 9 else d
        total += d
    return (10 - total % 10) % 10 == int(value[9])


def npi_check(value: str) -> None:
    if value and not npi_valid(value):
        raise ValidationError("Not a National Provider Identifier: ten digits, the last a check digit.")


class Therapist(models.Model):
    """A certified therapist who leads groups."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="therapist")
    display_name = models.CharField(max_length=120)
    credentials = models.CharField(max_length=60, help_text='For example "LCSW" or "PhD, LMHC".')
    bio = models.TextField(blank=True)
    # On superbills (portal/superbills.py): the National Provider Identifier, ten digits whose
    # last is a Luhn check digit over "80840" and the first nine (CMS's rule).
    npi = models.CharField(
        "NPI",
        max_length=10,
        blank=True,
        validators=[npi_check],
        help_text="National Provider Identifier (10 digits).",
    )

    class Meta:
        ordering = ["display_name"]

    def __str__(self) -> str:
        return f"{self.display_name}, {self.credentials}"


class License(models.Model):
    """A therapist's license to practise in one state, valid until ``expires_on``."""

    therapist = models.ForeignKey(Therapist, on_delete=models.CASCADE, related_name="licenses")
    state = models.CharField(max_length=2, choices=LICENSE_STATE_CHOICES)
    number = models.CharField("license number", max_length=40)
    expires_on = models.DateField()

    class Meta:
        ordering = ["state", "-expires_on"]
        constraints = [
            models.UniqueConstraint(
                fields=["therapist", "state", "number"], name="license_unique_per_therapist"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.state} {self.number} (until {self.expires_on:%Y-%m-%d})"


class Group(models.Model):
    """A cohort: one therapist, one weekly slot, a start date, a number of weeks, a seat limit."""

    class Kind(models.TextChoices):
        THERAPY = "therapy", _("DBT group therapy")
        SKILLS = "skills", _("DBT skills group")

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"
        CLOSED = "closed", "Closed"

    # A published group is never taken back to draft: members may already hold seats.
    TRANSITIONS: dict[str, frozenset[str]] = {
        Status.DRAFT: frozenset({Status.PUBLISHED, Status.CLOSED}),
        Status.PUBLISHED: frozenset({Status.CLOSED}),
        Status.CLOSED: frozenset({Status.PUBLISHED}),
    }

    class Weekday(models.IntegerChoices):
        MONDAY = 0, _("Monday")
        TUESDAY = 1, _("Tuesday")
        WEDNESDAY = 2, _("Wednesday")
        THURSDAY = 3, _("Thursday")
        FRIDAY = 4, _("Friday")
        SATURDAY = 5, _("Saturday")
        SUNDAY = 6, _("Sunday")

    title = models.CharField(max_length=140)
    slug = models.SlugField(max_length=140, unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    description = models.TextField()
    therapist = models.ForeignKey(Therapist, on_delete=models.PROTECT, related_name="groups")

    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    start_time = models.TimeField(help_text="Local wall-clock time in the group's time zone.")
    time_zone = models.CharField(max_length=64, choices=TIME_ZONE_CHOICES)
    duration_minutes = models.PositiveSmallIntegerField(
        default=90, validators=[MinValueValidator(15), MaxValueValidator(240)]
    )
    starts_on = models.DateField("first session date")
    weeks = models.PositiveSmallIntegerField(
        default=8, validators=[MinValueValidator(1), MaxValueValidator(52)]
    )
    # The local date of the last session, kept by save(): licenses must last until then.
    ends_on = models.DateField("last session date", editable=False)
    # When the last session starts, kept by the sessions service. The catalog lists a group
    # (and it takes reservations) until then; an indexed column keeps that filter cheap.
    last_session_at = models.DateTimeField(null=True, editable=False)

    capacity = models.PositiveSmallIntegerField(
        "seats", validators=[MinValueValidator(1), MaxValueValidator(500)]
    )
    price = models.DecimalField(
        max_digits=8, decimal_places=2, default=Decimal("0.00"), validators=[MinValueValidator(0)]
    )
    currency = models.CharField(max_length=3, default="usd", choices=[("usd", "USD")])
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    video_url = models.URLField(
        "private video link",
        blank=True,
        help_text="Never shown as such: members reach it through their own join link, after checking in.",
    )
    missed_in_a_row_limit = models.PositiveSmallIntegerField(
        "attendance rule: sessions missed in a row",
        default=4,
        validators=[MinValueValidator(2), MaxValueValidator(20)],
        help_text=(
            "Missing this many sessions in a row without notice may end a seat (the classic DBT rule is 4). "
            "Members are written to before that; a person decides, never the computer."
        ),
    )

    # Who the group is for, by age on the first session (or today, once it has begun).
    min_age = models.PositiveSmallIntegerField(
        "youngest age", default=18, validators=[MaxValueValidator(120)],
        help_text="Adults by default. Someone younger is pointed kindly to help meant for them.",
    )  # fmt: skip
    max_age = models.PositiveSmallIntegerField(
        "oldest age",
        null=True,
        blank=True,
        validators=[MaxValueValidator(120)],
        help_text="Blank: no upper limit.",
    )
    requires_review = models.BooleanField(
        "intake review",
        default=False,
        help_text=(
            "A clinician reviews each member's intake before they may pay: reserving holds the seat for "
            "review, and an approved member gets a time-limited payment window."
        ),
    )

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["starts_on", "start_time", "pk"]
        indexes = [
            models.Index(fields=["status", "kind"]),
            models.Index(fields=["status", "last_session_at"], name="group_open_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0), name="group_price_not_negative"),
            models.CheckConstraint(condition=Q(capacity__gte=1), name="group_capacity_positive"),
            models.CheckConstraint(condition=Q(weeks__gte=1), name="group_weeks_positive"),
            models.CheckConstraint(condition=Q(weekday__lte=6), name="group_weekday_valid"),
            models.CheckConstraint(
                condition=Q(duration_minutes__gte=15) & Q(duration_minutes__lte=240),
                name="group_duration_sane",
            ),
            models.CheckConstraint(
                condition=Q(ends_on__gte=models.F("starts_on")), name="group_ends_after_start"
            ),
            models.CheckConstraint(
                condition=Q(max_age__isnull=True) | Q(max_age__gte=models.F("min_age")),
                name="group_age_range_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs) -> None:
        self.ends_on = self.first_session_on + dt.timedelta(weeks=self.weeks - 1)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and {"starts_on", "weekday", "weeks"} & set(update_fields):
            kwargs["update_fields"] = {*update_fields, "ends_on"}
        super().save(*args, **kwargs)

    def clean(self) -> None:
        super().clean()
        if self.max_age is not None and self.min_age is not None and self.max_age < self.min_age:
            raise ValidationError({"max_age": "The oldest age must not be below the youngest."})
        if self.starts_on and self.weekday is not None and self.starts_on.weekday() != self.weekday:
            raise ValidationError(
                {"starts_on": f"The first session date must be a {self.Weekday(self.weekday).label}."}
            )

    @property
    def first_session_on(self) -> dt.date:
        """Return the first date on or after ``starts_on`` that falls on the group's weekday."""
        return self.starts_on + dt.timedelta(days=(self.weekday - self.starts_on.weekday()) % 7)

    @property
    def weekday_plural(self):
        return WEEKDAYS_PLURAL[self.weekday]

    @property
    def is_free(self) -> bool:
        return self.price == 0

    @property
    def time_zone_name(self) -> str:
        return TIME_ZONE_NAMES.get(self.time_zone, self.time_zone)


class GroupModule(models.Model):
    """One DBT module a group covers (a row each, so the catalog can filter on any database)."""

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="module_links")
    module = models.CharField(max_length=40, choices=Module.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["group", "module"], name="group_module_unique"),
        ]

    def __str__(self) -> str:
        return self.get_module_display()


class GroupSession(models.Model):
    """One weekly meeting of a group; start and end are stored in UTC."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        CANCELLED = "cancelled", _("Cancelled")

    AUDIT_NAME = "session"
    # Members are told of a cancellation once; a cancelled session is not brought back.
    TRANSITIONS: dict[str, frozenset[str]] = {
        Status.SCHEDULED: frozenset({Status.CANCELLED}),
        Status.CANCELLED: frozenset(),
    }

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="sessions")
    number = models.PositiveSmallIntegerField(help_text="Week number, from 1.")
    starts_at = models.DateTimeField(db_index=True)
    ends_at = models.DateTimeField()
    module = models.CharField(max_length=40, choices=Module.choices, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SCHEDULED)
    note = models.TextField(blank=True, help_text="A note for members about this session.")
    # iCalendar's SEQUENCE: one more every time the session's time or status changes, so a
    # calendar that already has it takes the new version (groups/services.py).
    sequence = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["group", "number"]
        constraints = [
            models.UniqueConstraint(fields=["group", "number"], name="session_number_unique"),
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="session_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.group} – week {self.number}"

    # The join window, the one place it is written: members' links open
    # JOIN_OPENS_MINUTES_BEFORE the start and close at the end; a session whose window has
    # opened is no longer moved by a schedule change.
    @property
    def join_opens_at(self) -> dt.datetime:
        return self.starts_at - dt.timedelta(minutes=settings.JOIN_OPENS_MINUTES_BEFORE)

    def join_open(self, now: dt.datetime) -> bool:
        return self.join_opens_at <= now < self.ends_at
