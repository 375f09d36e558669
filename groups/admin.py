"""The admin for the catalog: staff run every group; a therapist runs only their own.

A therapist's group page links to its roster (members, held seats, waitlist, attendance),
its CSV export, and per session the attendance sheet. Every view or export of a roster and
every change is written to the audit trail. Saves go through the same services as the API.
"""

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from enrollment.models import Attendance
from enrollment.roster import group_roster, roster_csv
from enrollment.services.attendance import attendance_mark, session_note_set
from enrollment.services.reminders import session_cancel
from grouport.admin_scoping import OperationsOnlyAdmin, TherapistScopedAdmin
from grouport.audit import audit_record
from grouport.exceptions import DomainError
from groups.models import Group, GroupSession, License, Module, Therapist
from groups.services import group_modules, group_sessions_sync, group_set_modules


class LicenseInline(admin.TabularInline):
    model = License
    extra = 0


@admin.register(Therapist)
class TherapistAdmin(OperationsOnlyAdmin):
    list_display = ("display_name", "credentials", "licensed_in")
    search_fields = ("display_name",)
    inlines = [LicenseInline]
    raw_id_fields = ("user",)

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("licenses")

    @admin.display(description="Licensed in")
    def licensed_in(self, obj: Therapist) -> str:
        return ", ".join(sorted({lic.state for lic in obj.licenses.all()}))


class GroupAdminForm(forms.ModelForm):
    modules = forms.MultipleChoiceField(
        choices=Module.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Weeks are shared out between the modules in this order.",
    )

    class Meta:
        model = Group
        fields = [
            "title", "slug", "kind", "status", "therapist", "description", "weekday", "start_time",
            "time_zone", "duration_minutes", "starts_on", "weeks", "capacity", "price", "currency",
            "video_url",
        ]  # fmt: skip

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["modules"].initial = group_modules(group=self.instance)


class GroupSessionInline(admin.TabularInline):
    model = GroupSession
    extra = 0
    fields = ("number", "starts_at", "ends_at", "module", "status", "note")
    readonly_fields = ("number", "starts_at", "ends_at", "module", "status")
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        # Sessions come from the weekly schedule; change the group's slot to move them.
        return False


@admin.register(Group)
class GroupAdmin(TherapistScopedAdmin):
    form = GroupAdminForm
    therapist_path = "therapist"
    # Therapists run their groups' content; staff own prices, seats, schedule and who leads.
    therapist_readonly = (
        "title", "slug", "kind", "status", "therapist", "weekday", "start_time", "time_zone",
        "duration_minutes", "starts_on", "weeks", "capacity", "price", "currency",
    )  # fmt: skip
    operations_only_filters = ("therapist",)
    list_display = (
        "title",
        "kind",
        "therapist",
        "weekday",
        "start_time",
        "time_zone",
        "capacity",
        "status",
        "roster",
    )
    list_filter = ("status", "kind", "therapist", "time_zone")
    search_fields = ("title", "slug")
    prepopulated_fields = {"slug": ("title",)}
    readonly_fields = ("ends_on",)
    inlines = [GroupSessionInline]
    fieldsets = (
        (None, {"fields": ("title", "slug", "kind", "status", "therapist", "description", "modules")}),
        ("Weekly slot", {"fields": (
            "weekday", "start_time", "time_zone", "duration_minutes", "starts_on", "weeks", "ends_on",
        )}),
        ("Seats and price", {"fields": ("capacity", "price", "currency")}),
        ("Private", {"fields": ("video_url",)}),
    )  # fmt: skip

    def get_prepopulated_fields(self, request, obj=None):
        return (
            {}
            if "slug" in self.get_readonly_fields(request, obj)
            else super().get_prepopulated_fields(request, obj)
        )

    @admin.display(description="Roster")
    def roster(self, obj: Group) -> str:
        return format_html('<a href="{}">Roster</a>', reverse("admin:groups_group_roster", args=[obj.pk]))

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        group = form.instance
        group_set_modules(group=group, modules=form.cleaned_data.get("modules", []))
        group_sessions_sync(group=group)
        audit_record(actor=request.user, action="group.saved", obj=group, request=request)

    def get_urls(self):
        return [
            path(
                "<int:object_id>/roster/",
                self.admin_site.admin_view(self.roster_view),
                name="groups_group_roster",
            ),
            path(
                "<int:object_id>/roster.csv",
                self.admin_site.admin_view(self.roster_csv_view),
                name="groups_group_roster_csv",
            ),
            *super().get_urls(),
        ]

    def _scoped_group(self, request: HttpRequest, object_id: int) -> Group:
        group = self.get_object(request, str(object_id))
        if group is None or not self.has_view_permission(request, group):
            self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        return group

    def roster_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        group = self._scoped_group(request, object_id)
        roster = group_roster(group=group)
        audit_record(actor=request.user, action="roster.viewed", obj=group, request=request)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Roster: {group.title}",
            "group": group,
            "roster": roster,
            "original": group,
        }
        return TemplateResponse(request, "admin/groups/group/roster.html", context)

    def roster_csv_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        group = self._scoped_group(request, object_id)
        audit_record(actor=request.user, action="roster.exported", obj=group, request=request)
        response = HttpResponse(roster_csv(group_roster(group=group)), content_type="text/csv; charset=utf-8")
        # A neutral name: a downloads folder should not say what kind of group it is.
        response["Content-Disposition"] = f'attachment; filename="roster-{group.pk}.csv"'
        return response


@admin.register(GroupSession)
class GroupSessionAdmin(TherapistScopedAdmin):
    therapist_path = "group__therapist"
    therapist_readonly = ("group", "number", "starts_at", "ends_at", "module", "status")
    operations_only_filters = ("group__therapist",)
    list_display = ("__str__", "starts_at", "module", "status", "attendance_link")
    list_filter = ("status", "group__therapist")
    search_fields = ("group__title",)
    readonly_fields = ("group", "number", "starts_at", "ends_at", "module", "status")
    fields = ("group", "number", "starts_at", "ends_at", "module", "status", "note")
    actions = ["cancel_sessions"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("group")

    @admin.display(description="Attendance")
    def attendance_link(self, obj: GroupSession) -> str:
        return format_html(
            '<a href="{}">Mark attendance</a>', reverse("admin:groups_groupsession_attendance", args=[obj.pk])
        )

    def save_model(self, request, obj, form, change) -> None:
        # Only the note is editable here; it goes through its service (and the audit trail).
        session_note_set(
            session=obj, note=form.cleaned_data.get("note", ""), actor=request.user, request=request
        )

    @admin.action(description="Cancel the selected sessions and tell their members")
    def cancel_sessions(self, request: HttpRequest, queryset) -> None:
        for session in queryset:
            session_cancel(session=session, actor=request.user)
        self.message_user(request, f"{queryset.count()} session(s) cancelled; members are being notified.")

    def get_urls(self):
        return [
            path(
                "<int:object_id>/attendance/",
                self.admin_site.admin_view(self.attendance_view),
                name="groups_groupsession_attendance",
            ),
            *super().get_urls(),
        ]

    def attendance_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        session = self.get_object(request, str(object_id))
        if session is None or not self.has_change_permission(request, session):
            self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        roster = group_roster(group=session.group)
        if request.method == "POST":
            marks = {
                row.reservation.pk: request.POST[f"r{row.reservation.pk}"]
                for row in roster.members
                if request.POST.get(f"r{row.reservation.pk}")
            }
            try:
                changed = attendance_mark(session=session, marks=marks, actor=request.user, request=request)
            except DomainError as error:
                messages.error(request, error.detail)
            else:
                messages.success(request, f"Attendance saved ({len(changed)} change(s)).")
                return redirect("admin:groups_group_roster", object_id=session.group_id)
        audit_record(actor=request.user, action="roster.viewed", obj=session.group, request=request)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Attendance: {session}",
            "session": session,
            "roster": roster,
            "statuses": Attendance.Status.choices,
            "original": session,
        }
        return TemplateResponse(request, "admin/groups/groupsession/attendance.html", context)
