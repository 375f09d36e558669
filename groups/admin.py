"""The admin for the catalog: staff run every group; a therapist runs only their own.

Rosters, attendance sheets and cancelling a session for members are enrollment's: its admin
(``enrollment/admin.py``) extends the group and session pages registered here. Saves go
through the same services as the rest of the code (a status through its transition map).
"""

from django import forms
from django.contrib import admin
from django.utils import timezone
from django.utils.formats import date_format

from grouport.admin_scoping import OperationsOnlyAdmin
from grouport.audit import audit_record
from grouport.transitions import allowed
from groups.admin_scoping import TherapistScopedAdmin
from groups.models import Group, GroupSession, License, Module, Therapist
from groups.services import (
    group_modules,
    group_save,
    group_sessions_sync,
    group_set_modules,
    session_note_set,
)


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
            "video_url", "min_age", "max_age", "requires_review",
        ]  # fmt: skip

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.stored_status = self.instance.status if self.instance.pk else None
        if self.instance.pk:
            self.fields["modules"].initial = group_modules(group=self.instance)

    def clean_status(self) -> str:
        status = self.cleaned_data["status"]
        if (
            self.stored_status
            and status != self.stored_status
            and not allowed(Group, self.stored_status, status)
        ):
            raise forms.ValidationError(
                f"A {self.stored_status} group cannot become {status}: members may already hold seats."
            )
        return status


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
    # Therapists run their groups' content (and whether they review each intake); staff own
    # prices, seats, schedule, who leads, and who a group is for (its ages).
    therapist_readonly = (
        "title", "slug", "kind", "status", "therapist", "weekday", "start_time", "time_zone",
        "duration_minutes", "starts_on", "weeks", "capacity", "price", "currency", "min_age", "max_age",
    )  # fmt: skip
    operations_only_filters = ("therapist",)
    list_display = (
        "title",
        "kind",
        "therapist",
        "weekly_slot",
        "capacity",
        "status",
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
        ("Who it is for", {"fields": ("min_age", "max_age", "requires_review")}),
        ("Private", {"fields": ("video_url",)}),
    )  # fmt: skip

    @admin.display(description="Weekly slot (the group's own time)", ordering="weekday")
    def weekly_slot(self, obj: Group) -> str:
        """A group meets at a wall-clock time in its own zone: said so, beside the viewer's zone
        the page names at the top ("Tuesdays 7:00 PM Eastern")."""
        return f"{obj.get_weekday_display()}s {obj.start_time:%-I:%M %p} {obj.time_zone_name}"

    def get_prepopulated_fields(self, request, obj=None):
        return (
            {}
            if "slug" in self.get_readonly_fields(request, obj)
            else super().get_prepopulated_fields(request, obj)
        )

    def save_model(self, request, obj, form, change) -> None:
        # Modules and sessions follow in save_related, once the inlines are saved.
        group_save(group=obj, actor=request.user, sync=False)

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        group = form.instance
        group_set_modules(group=group, modules=form.cleaned_data.get("modules", []))
        group_sessions_sync(group=group)
        audit_record(actor=request.user, action="group.saved", obj=group, request=request)


@admin.register(GroupSession)
class GroupSessionAdmin(TherapistScopedAdmin):
    therapist_path = "group__therapist"
    therapist_readonly = ("group", "number", "starts_at", "ends_at", "module", "status")
    operations_only_filters = ("group__therapist",)
    list_display = ("__str__", "starts", "module", "status")
    list_filter = ("status", "group__therapist")
    search_fields = ("group__title",)
    readonly_fields = ("group", "number", "starts_at", "ends_at", "module", "status")
    fields = ("group", "number", "starts_at", "ends_at", "module", "status", "note")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("group")

    @admin.display(description="Starts", ordering="starts_at")
    def starts(self, obj: GroupSession) -> str:
        """In the viewer's zone (``StaffTimeZoneMiddleware``), named: "Thu Dec 24, 6:00 PM CST"."""
        return date_format(timezone.localtime(obj.starts_at), "D M j, Y, g:i A T")

    def save_model(self, request, obj, form, change) -> None:
        # Only the note is editable here; it goes through its service (and the audit trail).
        session_note_set(
            session=obj, note=form.cleaned_data.get("note", ""), actor=request.user, request=request
        )
