"""Texts: a member's choice to get them, the numbers that said STOP, and every text sent.

A text's words are not kept: they are written when it is sent, by the part that asked for
it (a reminder's join link is a secret; an alert's code is short-lived). What is kept is who,
when, why and what the provider said, for staff and for the member's record.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class TextSubscription(models.Model):
    """A member's own choice to get session reminders by text, with the words they agreed to.

    Never on by default: a member turns it on (profile page or API). A STOP from the number
    turns it to "stopped" at once; START (or the member, once the number said START) turns it
    on again.
    """

    class Status(models.TextChoices):
        ON = "on", _("Texts on")
        OFF = "off", _("Texts off")
        STOPPED = "stopped", _("Stopped by a STOP reply")

    TRANSITIONS: dict[str, frozenset[str]] = {
        Status.ON: frozenset({Status.OFF, Status.STOPPED}),
        Status.OFF: frozenset({Status.ON, Status.STOPPED}),
        Status.STOPPED: frozenset({Status.ON, Status.OFF}),
    }

    member = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="text_subscription"
    )
    # E.164 (+12125550123), validated with phonenumbers.
    phone = models.CharField(max_length=16)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OFF)
    agreed_words = models.TextField(blank=True, help_text="The words the member agreed to, as shown.")
    agreed_at = models.DateTimeField(null=True, blank=True)
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-changed_at", "-pk"]
        indexes = [models.Index(fields=["phone"])]

    def __str__(self) -> str:
        return f"Text subscription #{self.pk}"


class StoppedNumber(models.Model):
    """A number that replied STOP: nothing at all is texted to it (reminders, confirmations,
    pages) until it replies START. The carriers' rule, and Twilio's."""

    phone = models.CharField(max_length=16, unique=True)
    stopped_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Stopped number #{self.pk}"


class TextMessage(models.Model):
    """One text (or call) we send, claimed before it goes: a key says what it is for, so the
    same purpose is never sent twice."""

    class Purpose(models.TextChoices):
        REMINDER = "reminder", "Session reminder"
        CONFIRMATION = "confirmation", "Opt-in confirmation"
        PAGE = "page", "Alert page to a clinician"

    class Channel(models.TextChoices):
        SMS = "sms", "Text"
        VOICE = "voice", "Call"

    class Status(models.TextChoices):
        QUEUED = "queued", "Waiting to be sent"
        SENDING = "sending", "Being sent"
        SENT = "sent", "Sent (with the provider)"
        DELIVERED = "delivered", "Delivered"
        UNDELIVERED = "undelivered", "Not delivered"
        FAILED = "failed", "Failed (staff should look)"
        WITHDRAWN = "withdrawn", "Not needed any more"
        BLOCKED = "blocked", "Not sent: the number replied STOP"

    # Delivery bookkeeping, moved with transition_rows (compare-and-set), not audited: the row
    # is its own record. A provider's late or repeated status never moves it backwards.
    TRANSITIONS: dict[str, frozenset[str]] = {
        Status.QUEUED: frozenset({Status.SENDING, Status.WITHDRAWN, Status.BLOCKED, Status.FAILED}),
        Status.SENDING: frozenset({Status.SENT, Status.QUEUED, Status.FAILED, Status.BLOCKED}),
        Status.SENT: frozenset({Status.DELIVERED, Status.UNDELIVERED, Status.FAILED}),
        Status.DELIVERED: frozenset({Status.UNDELIVERED, Status.FAILED}),
        Status.UNDELIVERED: frozenset(),
        Status.FAILED: frozenset(),
        Status.WITHDRAWN: frozenset(),
        Status.BLOCKED: frozenset(),
    }

    key = models.CharField(max_length=64, unique=True, help_text="What it is for, e.g. reminder-12.")
    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    channel = models.CharField(max_length=8, choices=Channel.choices, default=Channel.SMS)
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    to = models.CharField(max_length=16)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    provider_sid = models.CharField(max_length=64, null=True, blank=True, unique=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["to", "status"])]

    def __str__(self) -> str:
        return f"Text #{self.pk}"


class InboundText(models.Model):
    """A text someone sent us, or a call from the provider that could not be read: kept once
    (by the provider's id), with what we made of it. Its words are kept only when they were
    not a keyword or a code: a member writing to us must reach a person."""

    class Outcome(models.TextChoices):
        STOP = "stop", "STOP: texts stopped"
        START = "start", "START: texts on again"
        HELP = "help", "HELP: answered"
        ACKNOWLEDGED = "acknowledged", "An alert acknowledged"
        UNREAD = "unread", "A message for the care team"
        REJECTED = "rejected", "Refused (bad request)"

    class Status(models.TextChoices):
        NEW = "new", "To read"
        READ = "read", "Read by staff"

    TRANSITIONS: dict[str, frozenset[str]] = {Status.NEW: frozenset({Status.READ}), Status.READ: frozenset()}

    message_sid = models.CharField(max_length=64, null=True, blank=True, unique=True)
    from_phone = models.CharField(max_length=32, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.READ)
    body = models.TextField(blank=True, help_text="Kept only for a message a person must read.")
    reason = models.CharField(max_length=200, blank=True, help_text="Why a request was refused.")
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-received_at", "-pk"]

    def __str__(self) -> str:
        return f"Inbound text #{self.pk}"
