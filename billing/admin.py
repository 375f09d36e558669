"""Staff's admin for payments and refunds (refunds go through the refund service only), fee
tiers, promotion codes and financial-assistance requests."""

import uuid
from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from billing.models import AssistanceRequest, FeeTier, Payment, PromoCode, Refund, WebhookRejection
from billing.pricing import assistance_decide
from billing.services import refund_issue
from enrollment.models import Reservation
from grouport.admin_scoping import AuditedViewsAdmin, OperationsOnlyAdmin
from grouport.exceptions import DomainError


class RefundInline(admin.TabularInline):
    model = Refund
    extra = 0
    can_delete = False
    readonly_fields = ("amount", "status", "reason", "key", "stripe_refund_id", "created_at")
    fields = readonly_fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Payment)
class PaymentAdmin(AuditedViewsAdmin, OperationsOnlyAdmin):
    list_display = (
        "id",
        "reservation_id",
        "provider",
        "status",
        "amount",
        "amount_refunded",
        "disputed",
        "refund_link",
    )
    list_filter = ("status", "provider", "disputed")
    search_fields = ("=id", "checkout_session_id", "payment_intent_id")
    readonly_fields = [f.name for f in Payment._meta.fields]
    inlines = [RefundInline]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="Refund")
    def refund_link(self, obj: Payment) -> str:
        if obj.refundable <= 0:
            return ""
        return format_html('<a href="{}">Refund…</a>', reverse("admin:billing_payment_refund", args=[obj.pk]))

    def get_urls(self):
        return [
            path(
                "<int:object_id>/refund/",
                self.admin_site.admin_view(self.refund_view),
                name="billing_payment_refund",
            ),
            *super().get_urls(),
        ]

    def refund_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        payment = self.get_object(request, str(object_id))
        if payment is None or not self.has_change_permission(request, payment):
            self._get_obj_does_not_exist_redirect(request, self.opts, object_id)

        class RefundForm(forms.Form):
            amount = forms.DecimalField(max_digits=8, decimal_places=2, min_value=Decimal("0.01"))
            reason = forms.CharField(max_length=40, initial="staff")
            # One key per form shown: a double submit refunds once.
            key = forms.CharField(widget=forms.HiddenInput, initial=f"staff-{payment.pk}-{uuid.uuid4().hex}")

        form = RefundForm(request.POST or None, initial={"amount": payment.refundable})
        if request.method == "POST" and form.is_valid():
            try:
                refund_issue(
                    payment=payment,
                    amount=form.cleaned_data["amount"],
                    key=form.cleaned_data["key"],
                    reason=form.cleaned_data["reason"],
                    actor=request.user,
                )
            except DomainError as error:
                form.add_error("amount", error.detail)
            else:
                messages.success(request, f"Refund of ${form.cleaned_data['amount']} requested.")
                return redirect("admin:billing_payment_change", payment.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Refund payment {payment.pk}",
            "payment": payment,
            "form": form,
            "original": payment,
        }
        return TemplateResponse(request, "admin/billing/payment/refund.html", context)


@admin.register(Refund)
class RefundAdmin(AuditedViewsAdmin, OperationsOnlyAdmin):
    list_display = ("id", "payment", "amount", "status", "reason", "created_at")
    list_filter = ("status", "reason")
    readonly_fields = [f.name for f in Refund._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(WebhookRejection)
class WebhookRejectionAdmin(OperationsOnlyAdmin):
    """Signed webhook events that could not be read: compare with Stripe's dashboard."""

    list_display = ("received_at", "event_id", "event_type", "reason")
    readonly_fields = [f.name for f in WebhookRejection._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(FeeTier)
class FeeTierAdmin(OperationsOnlyAdmin):
    """A group's reduced fees: one a member may choose with their word, one staff give."""

    list_display = ("group", "kind", "price", "self_select")
    list_select_related = ("group",)
    list_filter = ("kind", "self_select")
    autocomplete_fields = ("group",)


@admin.register(PromoCode)
class PromoCodeAdmin(OperationsOnlyAdmin):
    list_display = ("code", "amount_off", "percent_off", "expires_at", "max_uses", "uses", "active")
    list_filter = ("active",)
    search_fields = ("code",)

    @admin.display(description="Uses")
    def uses(self, obj: PromoCode) -> int:
        return obj.use_count

    def get_queryset(self, request):
        # One query for the list, however many codes: a use is a seat holding the code
        # (held, in review, confirmed) or one paid with it (billing/pricing.py).
        held = Q(uses__reservation__status__in=Reservation.ACTIVE) | Q(
            uses__reservation__payments__status=Payment.Status.PAID
        )
        return super().get_queryset(request).annotate(use_count=Count("uses", filter=held, distinct=True))


@admin.register(AssistanceRequest)
class AssistanceRequestAdmin(AuditedViewsAdmin, OperationsOnlyAdmin):
    """Requests for financial assistance: staff grant (the group's assisted fee becomes the
    member's to choose) or decline. Each decision is audited and emailed to the member."""

    list_display = ("id", "member", "group", "household_size", "income", "status", "created_at")
    list_select_related = ("member", "group")
    list_filter = ("status", "income")
    readonly_fields = [
        "member", "group", "household_size", "income", "status", "created_at", "decided_by", "decided_at"
    ]  # fmt: skip
    actions = ["grant", "decline"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def _decide(self, request: HttpRequest, queryset, grant: bool) -> None:
        done = 0
        for item in queryset.filter(status=AssistanceRequest.Status.OPEN):
            try:
                assistance_decide(request=item, grant=grant, actor=request.user)
            except DomainError as error:
                self.message_user(request, f"#{item.pk}: {error.detail}", messages.WARNING)
            else:
                done += 1
        self.message_user(
            request, f"{done} request(s) {'granted' if grant else 'declined'}; members are emailed."
        )

    @admin.action(description="Grant the group's assisted fee")
    def grant(self, request: HttpRequest, queryset) -> None:
        self._decide(request, queryset, True)

    @admin.action(description="Decline")
    def decline(self, request: HttpRequest, queryset) -> None:
        self._decide(request, queryset, False)
