"""Money: one Payment per attempt to pay for a reservation, its Refunds, and Stripe's events."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

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
    # What the seat lists at, and the fee tier's and promotion code's discount off it: the
    # revenue report shows list price, discounts and money received apart.
    list_amount = models.DecimalField(max_digits=8, decimal_places=2)
    discount = models.DecimalField(max_digits=8, decimal_places=2, default=Decimal("0.00"))
    # What was bought, as it was when paid (its receipt says so even after a move carries the
    # payment to another group's seat).
    program_starts_on = models.DateField(null=True, blank=True)
    program_weeks = models.PositiveSmallIntegerField(null=True, blank=True)
    # The promotion code this attempt charges with: open or paid, it is one of the code's uses.
    promo = models.ForeignKey(
        "PromoCode", null=True, blank=True, on_delete=models.PROTECT, related_name="payments"
    )

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

    def save(self, *args, **kwargs) -> None:
        if self.list_amount is None:  # no tier or code: the list price is what was charged
            self.list_amount = self.amount + self.discount
        if self.program_weeks is None and self.reservation_id:
            group = self.reservation.group
            self.program_starts_on, self.program_weeks = group.starts_on, group.weeks
        super().save(*args, **kwargs)

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


class FeeTier(models.Model):
    """A reduced fee a group offers besides its list price (``Group.price``, the full fee).

    ``self_select``: a member may choose it, attesting it is what they can pay (a sliding
    scale on trust, as most clinics run it). Otherwise staff give it, after a short
    financial-assistance request (``AssistanceRequest``)."""

    class Kind(models.TextChoices):
        REDUCED = "reduced", "Reduced fee"
        ASSISTED = "assisted", "Financial assistance"

    group = models.ForeignKey("groups.Group", on_delete=models.CASCADE, related_name="fee_tiers")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    price = models.DecimalField(max_digits=8, decimal_places=2)
    self_select = models.BooleanField(
        "members may choose it", default=True, help_text="Off: only staff give it, after a request."
    )

    class Meta:
        ordering = ["group", "-price"]
        constraints = [
            models.UniqueConstraint(fields=["group", "kind"], name="fee_tier_once_per_group"),
            # Stripe charges at least $0.50: a lower fee is a free seat, which staff give otherwise.
            models.CheckConstraint(condition=Q(price__gte=Decimal("0.50")), name="fee_tier_price_chargeable"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ${self.price}"


class PromoCode(models.Model):
    """A promotion code: an amount or a percentage off, until it expires, a number of times.

    A use is a seat holding it (held, in review or confirmed) or a payment made with it; a
    hold that lapses gives its use back. Checked on the server when applied, under the code's
    row lock: two members racing for the last use, one gets it."""

    code = models.CharField(
        max_length=40, unique=True, help_text="Members type it; letters and digits, any case."
    )
    amount_off = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True)
    percent_off = models.PositiveSmallIntegerField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    max_uses = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: no limit.")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(amount_off__isnull=False, amount_off__gt=0) & Q(percent_off__isnull=True))
                | (
                    Q(percent_off__isnull=False, percent_off__gte=1, percent_off__lte=100)
                    & Q(amount_off__isnull=True)
                ),
                name="promo_code_one_kind_of_discount",
            ),
        ]

    def __str__(self) -> str:
        return self.code


class PriceChoice(models.Model):
    """What one seat costs, and why: the list price, the fee tier chosen or given, the promotion
    code applied, the discount, and what is due. Set on the pay page before paying; what a
    payment charges is ``due`` (``billing/pricing.py``)."""

    reservation = models.OneToOneField(Reservation, on_delete=models.CASCADE, related_name="price_choice")
    tier = models.ForeignKey(FeeTier, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    tier_attested_at = models.DateTimeField(null=True, blank=True)
    tier_given_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    promo = models.ForeignKey(PromoCode, null=True, blank=True, on_delete=models.PROTECT, related_name="uses")
    list_price = models.DecimalField(max_digits=8, decimal_places=2)
    discount = models.DecimalField(
        max_digits=8,
        decimal_places=2,
        default=Decimal("0.00"),
        help_text="The tier's and the code's, together.",
    )
    due = models.DecimalField(max_digits=8, decimal_places=2)
    # The seat's fee for this member before any code: what a move compares (a waived
    # difference keeps the fee they paid; a code's discount stays theirs).
    fee = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(due__gte=0) & Q(discount__gte=0) & Q(due=F("list_price") - F("discount")),
                name="price_choice_adds_up",
            ),
        ]

    def __str__(self) -> str:
        return f"Price of reservation #{self.reservation_id}"


class AssistanceRequest(models.Model):
    """A member asks for financial assistance in a group: the least staff need to decide (the
    household's size and income band), decided in the admin and audited. Granted, the group's
    assisted fee is the member's to choose on the pay page, for any seat of theirs in it."""

    class Status(models.TextChoices):
        OPEN = "open", "Waiting for staff"
        GRANTED = "granted", "Granted"
        DECLINED = "declined", "Declined"

    TRANSITIONS: dict[str, frozenset[str]] = {
        Status.OPEN: frozenset({Status.GRANTED, Status.DECLINED}),
        Status.GRANTED: frozenset(),
        Status.DECLINED: frozenset(),
    }

    class Income(models.TextChoices):  # members read these
        UNDER_25K = "under_25k", _("Under $25,000 a year")
        UNDER_50K = "under_50k", _("$25,000 to $50,000 a year")
        UNDER_75K = "under_75k", _("$50,000 to $75,000 a year")
        OVER_75K = "over_75k", _("Over $75,000 a year")

    member = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    group = models.ForeignKey("groups.Group", on_delete=models.CASCADE, related_name="+")
    household_size = models.PositiveSmallIntegerField()
    income = models.CharField(max_length=10, choices=Income.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["member", "group"], name="assistance_once_per_group"),
            models.CheckConstraint(
                condition=Q(household_size__gte=1, household_size__lte=20), name="assistance_household_size"
            ),
        ]

    def __str__(self) -> str:
        return f"Assistance request #{self.pk}"
