"""Money: one Payment per attempt to pay for a reservation, its Refunds, and Stripe's events."""

from decimal import Decimal

from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from enrollment.models import Reservation


class Payment(models.Model):
    """One attempt to pay for a reservation (a Stripe Checkout Session, or the offline stand-in)."""

    class Provider(models.TextChoices):
        STRIPE = "stripe", "Stripe"
        OFFLINE = "offline", "Offline (test mode)"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for payment"
        PROCESSING = "processing", "Payment processing"
        PAID = "paid", "Paid"
        FAILED = "failed", "Failed"
        EXPIRED = "expired", "Checkout expired"

    # A provider's events arrive late, twice or out of order; a payment never moves back
    # (no "processing" after "failed"), and money that arrives is recorded whatever came
    # before it (the seat is then decided again, and refunded if there is none).
    TRANSITIONS: dict[str, frozenset[str]] = {
        Status.PENDING: frozenset({Status.PROCESSING, Status.PAID, Status.FAILED, Status.EXPIRED}),
        Status.PROCESSING: frozenset({Status.PAID, Status.FAILED, Status.EXPIRED}),
        Status.PAID: frozenset(),
        Status.FAILED: frozenset({Status.PAID}),
        Status.EXPIRED: frozenset({Status.PAID}),
    }

    reservation = models.ForeignKey(Reservation, on_delete=models.PROTECT, related_name="payments")
    provider = models.CharField(max_length=10, choices=Provider.choices)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    amount = models.DecimalField(max_digits=8, decimal_places=2)
    currency = models.CharField(max_length=3, default="usd")
    amount_refunded = models.DecimalField(max_digits=8, decimal_places=2, default=Decimal("0.00"))

    checkout_session_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    checkout_url = models.URLField(max_length=2000, blank=True)
    # One attempt, one key, one set of parameters: after a lost answer the same request goes
    # again exactly as it was (Stripe refuses a key reused with other parameters); after an
    # answer Stripe keeps (a 500 is replayed for the key for a day) a new attempt begins.
    idempotency_key = models.CharField(max_length=255, unique=True, null=True, blank=True)
    checkout_params = models.JSONField(
        default=dict, blank=True, help_text="The exact parameters sent to Stripe for this attempt."
    )
    last_error = models.CharField(
        max_length=200, blank=True, help_text="Why the last request for this attempt did not open a page."
    )
    payment_intent_id = models.CharField(max_length=255, blank=True, db_index=True)
    disputed = models.BooleanField(default=False, help_text="A dispute was opened: staff should look.")

    created_at = models.DateTimeField(default=timezone.now)
    paid_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="payment_amount_not_negative"),
            models.CheckConstraint(
                condition=Q(amount_refunded__gte=0) & Q(amount_refunded__lte=F("amount")),
                name="payment_refunds_within_amount",
            ),
        ]

    def __str__(self) -> str:
        return f"Payment #{self.pk}"

    @property
    def refundable(self) -> Decimal:
        return self.amount - self.amount_refunded if self.status == self.Status.PAID else Decimal("0.00")


class Refund(models.Model):
    """Money returned on a payment. ``key`` makes each refund happen once, however often asked."""

    class Status(models.TextChoices):
        PENDING = "pending", "Requested"
        SUCCEEDED = "succeeded", "Refunded"
        FAILED = "failed", "Failed"

    # Pending until the provider says the money went back. A refund we gave up on may still
    # be reported done (the request went through after all): it then counts again, once. A
    # card refund reported done can still fail later (a closed account): it stops counting,
    # and staff are told.
    TRANSITIONS: dict[str, frozenset[str]] = {
        Status.PENDING: frozenset({Status.SUCCEEDED, Status.FAILED}),
        Status.SUCCEEDED: frozenset({Status.FAILED}),
        Status.FAILED: frozenset({Status.SUCCEEDED}),
    }

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount = models.DecimalField(max_digits=8, decimal_places=2)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    key = models.CharField(max_length=120, unique=True, help_text="Idempotency key: one refund per purpose.")
    reason = models.CharField(max_length=40)
    stripe_refund_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    failure_reason = models.CharField(
        max_length=100, blank=True, help_text="Why the money did not go back (the provider's code)."
    )
    # Stripe keeps a 500 for its idempotency key: a refund whose request got one, and that
    # Stripe does not list afterwards, is asked for again under the next attempt's key.
    provider_attempt = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive")]

    def __str__(self) -> str:
        return f"Refund #{self.pk}"

    @property
    def provider_key(self) -> str:
        """The idempotency key of this refund's current request to the provider."""
        return self.key if self.provider_attempt == 0 else f"{self.key}:{self.provider_attempt}"


class StripeEvent(models.Model):
    """A webhook event from Stripe, stored once: a repeat delivery finds its row and stops."""

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


class WebhookRejection(models.Model):
    """A correctly signed webhook we could not read (no id, no data): kept for staff to look at.

    It is answered 400, not 500, so the provider does not retry it forever. Only what
    identifies it is kept, never the payload (it may carry a customer's email).
    """

    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    event_id = models.CharField(max_length=255, blank=True)
    event_type = models.CharField(max_length=100, blank=True)
    reason = models.CharField(max_length=200)

    class Meta:
        ordering = ["-received_at", "-pk"]

    def __str__(self) -> str:
        return f"Webhook rejection #{self.pk}"
