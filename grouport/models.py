"""The user model: one account for members, therapists and staff, with email as the login."""

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.utils import timezone

from grouport.states import STATE_CHOICES, default_time_zone


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra_fields) -> "User":
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).strip(), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra_fields) -> "User":
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email: str, password: str | None = None, **extra_fields) -> "User":
        extra_fields["is_staff"] = True
        extra_fields["is_superuser"] = True
        return self._create_user(email, password, **extra_fields)

    def get_by_natural_key(self, email: str) -> "User":
        # Log-in is case-insensitive: Ana@Example.com and ana@example.com are one account.
        return self.get(email=(email or "").strip().lower())


class User(AbstractBaseUser, PermissionsMixin):
    """An account. Members add a state of residence and a time zone to their profile."""

    email = models.EmailField("email address", max_length=254, unique=True)
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    state = models.CharField("state of residence", max_length=2, choices=STATE_CHOICES, blank=True)
    # Any IANA zone: a member may live, or travel, anywhere (validated against the tz database).
    time_zone = models.CharField(max_length=64, blank=True)
    language = models.CharField(
        max_length=8, choices=settings.LANGUAGES, blank=True, help_text="For the site and for emails."
    )
    is_staff = models.BooleanField(
        default=False, help_text="Designates whether the user can log into the admin site."
    )
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    EMAIL_FIELD = "email"
    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    def __str__(self) -> str:
        # Ids, not emails: a user's str() ends up in logs and admin history.
        return f"User #{self.pk}"

    def save(self, *args, **kwargs) -> None:
        # One account per address whatever its case: stored lower-case, unique in the database.
        self.email = (self.email or "").strip().lower()
        super().save(*args, **kwargs)

    @property
    def zone(self) -> str:
        """The zone a member's own times are told in (emails, their pages): the one on their
        profile, else the usual one of their state. Pages a visitor may see use
        ``grouport.zones.viewer_zone``, which also hears the browser."""
        return self.time_zone or default_time_zone(self.state)

    def get_full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def get_short_name(self) -> str:
        return self.first_name


class AuditEntry(models.Model):
    """Who did what to which record, when and from where. Written once, never edited."""

    actor = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_entries"
    )
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64)
    # Ids and states only: no names, emails or clinical words.
    data = models.JSONField(default=dict, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "audit entries"
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.action} {self.object_type} #{self.object_id}"


class OutboxMessage(models.Model):
    """A side effect to carry out: an email, a refund request, closing a checkout, an alert.

    Written in the same transaction as the change that causes it, so the effect exists if
    and only if the change committed. A Celery task queued on commit delivers it; a
    periodic sweeper delivers whatever that task did not (the broker was down, a worker
    died), until it is done or marked failed for staff. See ``grouport/outbox.py``.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be delivered"
        SENDING = "sending", "Being delivered"
        DONE = "done", "Delivered"
        FAILED = "failed", "Failed (staff should look)"

    AUDIT_NAME = "outbox"
    TRANSITIONS: dict[str, frozenset[str]] = {
        Status.PENDING: frozenset({Status.SENDING}),
        # Delivered; or back in line for another try; or given up.
        Status.SENDING: frozenset({Status.DONE, Status.PENDING, Status.FAILED}),
        Status.DONE: frozenset(),
        # Staff may send a failed message again from the admin.
        Status.FAILED: frozenset({Status.PENDING}),
    }

    kind = models.CharField(max_length=64, db_index=True, help_text="Which handler carries it out.")
    # Ids only: no names, emails or clinical words (staff read this in the admin).
    payload = models.JSONField(default=dict)
    key = models.CharField(
        max_length=200, unique=True, null=True, blank=True, help_text="One message per purpose, when set."
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    available_at = models.DateTimeField(default=timezone.now, help_text="Not delivered before this.")
    lease_until = models.DateTimeField(
        null=True, blank=True, help_text="A delivery still running after this is presumed dead."
    )
    last_error = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    done_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "available_at"], name="outbox_due_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["pending", "sending", "done", "failed"]),
                name="outbox_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk}"


def user_display(user: User) -> str:
    """How the site names a signed-in person to themselves (never the email, in messages)."""
    return user.first_name or "you"
