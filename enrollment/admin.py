"""Staff's admin for reservations, waitlists and reminders (therapists use their rosters)."""

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from billing.services import reservation_cancel_with_policy
from enrollment.models import Reminder, Reservation, WaitlistEntry
from enrollment.services.attendance import reservation_move
from grouport.admin_scoping import OperationsOnlyAdmin
from grouport.exceptions import DomainError
from groups.models import Group


@admin.register(Reservation)
class ReservationAdmin(OperationsOnlyAdmin):
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
                reservation_cancel_with_policy(reservation=reservation, actor=request.user, refund=refund)
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
            self._get_obj_does_not_exist_redirect(request, self.opts, object_id)

        class MoveForm(forms.Form):
            to_group = forms.ModelChoiceField(
                queryset=Group.objects.filter(status=Group.Status.PUBLISHED).exclude(pk=reservation.group_id),
                label="Move to",
            )

        form = MoveForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                moved = reservation_move(
                    reservation=reservation,
                    to_group=form.cleaned_data["to_group"],
                    actor=request.user,
                    request=request,
                )
            except DomainError as error:
                form.add_error(None, error.detail)
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


@admin.register(WaitlistEntry)
class WaitlistEntryAdmin(OperationsOnlyAdmin):
    list_display = ("id", "member_id", "group", "status", "created_at", "offered_at")
    list_filter = ("status",)
    readonly_fields = [f.name for f in WaitlistEntry._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Reminder)
class ReminderAdmin(OperationsOnlyAdmin):
    list_display = ("id", "session", "reservation_id", "kind", "status", "attempts", "last_error", "sent_at")
    list_filter = ("status", "kind")
    readonly_fields = [f.name for f in Reminder._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False
