"""Seats in the admin: staff's reservations (cancel with or without a refund, move to
another group), the waitlist, the group agreement's versions, and residence flags (a
clinician reviews them). Every look at a member's seat is audited."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from enrollment.models import GroupAgreement, Reservation, ResidenceAlert, SeatReview, WaitlistEntry
from enrollment.services.eligibility import residence_alert_review
from enrollment.services.moves import reservation_move
from enrollment.services.reservations import reservation_cancel
from enrollment.services.review import reservation_review_approve, reservation_review_decline
from grouport.admin_scoping import (
    AuditedViewsAdmin,
    OperationsOnlyAdmin,
    PublishedVersionAdmin,
    ReviewWithNoteAdmin,
)
from grouport.exceptions import DomainError
from groups.admin_scoping import TherapistScopedAdmin
from groups.models import Group
from intake.selectors import intake_summaries


@admin.register(GroupAgreement)
class GroupAgreementAdmin(PublishedVersionAdmin):
    """The group agreement members accept. A published version is never edited: a change is a
    new version (members who accepted the old one are asked again at their next seat, and
    every roster shows which version each member accepted)."""

    list_display = ("__str__", "published_at", "accepted_by")

    @admin.display(description="Accepted by (seats)")
    def accepted_by(self, obj: GroupAgreement) -> int:
        return Reservation.objects.filter(agreement=obj).count()


@admin.register(Reservation)
class ReservationAdmin(AuditedViewsAdmin, OperationsOnlyAdmin):
    list_display = ("id", "member_id", "group", "status", "source", "expires_at", "confirmed_at", "move_link")
    list_filter = ("status", "source", "group__kind")
    search_fields = ("=id", "member__email", "group__title")
    list_select_related = ("group",)
    readonly_fields = [f.name for f in Reservation._meta.fields]
    autocomplete_fields = ("group",)
    actions = ["cancel_with_refund", "cancel_without_refund"]

    def has_add_permission(self, request) -> bool:
        return False  # seats are taken through the reservation service, never typed in

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="Move")
    def move_link(self, obj: Reservation) -> str:
        if obj.status != Reservation.Status.CONFIRMED:
            return ""
        return format_html(
            '<a href="{}">Move…</a>', reverse("admin:enrollment_reservation_move", args=[obj.pk])
        )

    def _cancel(self, request: HttpRequest, queryset, *, refund: str) -> None:
        done = 0
        for reservation in queryset.filter(status__in=Reservation.ACTIVE):
            try:
                reservation_cancel(
                    reservation=reservation,
                    actor=request.user,
                    refund=refund,
                    reason=Reservation.EndReason.STAFF,
                )
                done += 1
            except DomainError as error:
                messages.error(request, f"Reservation {reservation.pk}: {error.detail}")
        self.message_user(request, f"{done} reservation(s) cancelled.")

    @admin.action(description="Cancel and refund in full")
    def cancel_with_refund(self, request: HttpRequest, queryset) -> None:
        self._cancel(request, queryset, refund="full")

    @admin.action(description="Cancel without refund")
    def cancel_without_refund(self, request: HttpRequest, queryset) -> None:
        self._cancel(request, queryset, refund="none")

    def get_urls(self):
        return [
            path(
                "<int:object_id>/move/",
                self.admin_site.admin_view(self.move_view),
                name="enrollment_reservation_move",
            ),
            *super().get_urls(),
        ]

    def move_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        reservation = self.get_object(request, str(object_id))
        if reservation is None or not self.has_change_permission(request, reservation):
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)

        class MoveForm(forms.Form):
            to_group = forms.ModelChoiceField(
                queryset=Group.objects.filter(status=Group.Status.PUBLISHED).exclude(pk=reservation.group_id),
                label="Move to",
            )
            waive = forms.BooleanField(
                required=False,
                label="Waive the difference",
                help_text="A dearer group: move them now without asking them to pay the difference "
                "(recorded and audited). Otherwise a seat there is held while they pay it.",
            )

        form = MoveForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                moved = reservation_move(
                    reservation=reservation,
                    to_group=form.cleaned_data["to_group"],
                    actor=request.user,
                    waive=form.cleaned_data["waive"],
                    request=request,
                )
            except DomainError as error:
                form.add_error(None, error.detail)
            else:
                if moved.status == Reservation.Status.HELD:
                    messages.success(
                        request,
                        f"A seat in {moved.group} is held for the member until they pay the difference; "
                        "they have been emailed. Their current seat stays theirs until then.",
                    )
                else:
                    messages.success(request, f"Moved to {moved.group}; the member has been emailed.")
                return redirect("admin:enrollment_reservation_change", moved.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Move reservation {reservation.pk}",
            "reservation": reservation,
            "form": form,
            "original": reservation,
        }
        return TemplateResponse(request, "admin/enrollment/reservation/move.html", context)


@admin.register(ResidenceAlert)
class ResidenceAlertAdmin(ReviewWithNoteAdmin, AuditedViewsAdmin, TherapistScopedAdmin):
    """Flags raised when a member's state changed under a therapy seat: read, then review."""

    therapist_path = "group__therapist"
    operations_only_filters = ("group__therapist",)
    list_display = ("id", "group", "reservation_id", "old_state", "new_state", "status", "created_at")
    list_filter = ("status", "group__therapist")
    list_select_related = ("group",)
    readonly_fields = [f.name for f in ResidenceAlert._meta.fields if f.name != "review_note"]
    fields = (
        "group", "reservation", "old_state", "new_state", "status", "created_at",
        "reviewed_by", "reviewed_at", "review_note",
    )  # fmt: skip

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    review_help = "What was decided, with the member. Saving marks it reviewed."
    review_service = residence_alert_review

    def response_change(self, request, obj):
        messages.success(request, "Marked reviewed. The flag is off the roster.")
        return redirect("admin:groups_group_roster", object_id=obj.group_id)


@admin.register(WaitlistEntry)
class WaitlistEntryAdmin(AuditedViewsAdmin, OperationsOnlyAdmin):
    list_display = ("id", "member_id", "group", "status", "created_at", "offered_at")
    list_filter = ("status",)
    readonly_fields = [f.name for f in WaitlistEntry._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(SeatReview)
class SeatReviewAdmin(AuditedViewsAdmin, TherapistScopedAdmin):
    """Seats held for an intake review: the group's therapist (or staff) reads the intake and
    approves or declines in one click, with a note. Every look and decision is audited."""

    therapist_path = "group__therapist"
    operations_only_filters = ("group__therapist",)
    list_display = ("id", "member_name", "group", "asked", "decide_by")
    list_filter = ("group__therapist",)
    list_select_related = ("group", "member")
    fields = ("member_name", "contact", "group", "asked", "decide_by", "residence_state")
    readonly_fields = fields
    change_form_template = "admin/enrollment/seatreview/change_form.html"

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).filter(status=Reservation.Status.REVIEW)

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="Member")
    def member_name(self, obj: Reservation) -> str:
        return obj.member.get_full_name() or f"Member #{obj.member_id}"

    @admin.display(description="Email")
    def contact(self, obj: Reservation) -> str:
        return obj.member.email

    @admin.display(description="Asked", ordering="created_at")
    def asked(self, obj: Reservation):
        return obj.created_at

    @admin.display(description="Decide by (then the seat goes to the waitlist)", ordering="expires_at")
    def decide_by(self, obj: Reservation):
        return obj.expires_at

    def changeform_view(self, request: HttpRequest, object_id=None, form_url="", extra_context=None):
        obj = self.get_object(request, object_id) if object_id else None
        if obj is None:
            self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if request.method == "POST":
            if not self.has_change_permission(request, obj):
                raise PermissionDenied
            note = (request.POST.get("review_note") or "")[:2000]
            try:
                if "_approve" in request.POST:
                    reservation_review_approve(reservation=obj, actor=request.user, note=note)
                    messages.success(request, "Approved. The member has been emailed how to pay.")
                elif "_decline" in request.POST:
                    reservation_review_decline(reservation=obj, actor=request.user, note=note)
                    messages.success(
                        request, "Declined. The member has been told kindly, and the seat is free."
                    )
                else:
                    messages.error(request, "Choose Approve or Decline.")
                    return redirect(request.path)
            except DomainError as error:
                messages.error(request, str(error.detail))
                return redirect(request.path)
            return redirect("admin:enrollment_seatreview_changelist")
        summary = intake_summaries([obj.member_id])[obj.member_id]
        extra = {**(extra_context or {}), "intake": summary, "show_save": False}
        return super().changeform_view(request, object_id, form_url, extra)
