from django import forms
from django.contrib import admin

from groups.models import Group, GroupSession, License, Module, Therapist
from groups.services import group_modules, group_sessions_sync, group_set_modules


class LicenseInline(admin.TabularInline):
    model = License
    extra = 0


@admin.register(Therapist)
class TherapistAdmin(admin.ModelAdmin):
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
            "title",
            "slug",
            "kind",
            "status",
            "therapist",
            "description",
            "weekday",
            "start_time",
            "time_zone",
            "duration_minutes",
            "starts_on",
            "weeks",
            "capacity",
            "price",
            "currency",
            "video_url",
        ]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["modules"].initial = group_modules(group=self.instance)


class GroupSessionInline(admin.TabularInline):
    model = GroupSession
    extra = 0
    fields = ("number", "starts_at", "ends_at", "module", "status")
    readonly_fields = ("number", "starts_at", "ends_at", "module")
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        # Sessions come from the weekly schedule; change the group's slot to move them.
        return False


@admin.register(Group)
class GroupAdmin(admin.ModelAdmin):
    form = GroupAdminForm
    list_display = (
        "title",
        "kind",
        "therapist",
        "weekday",
        "start_time",
        "time_zone",
        "starts_on",
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
        (
            "Weekly slot",
            {
                "fields": (
                    "weekday",
                    "start_time",
                    "time_zone",
                    "duration_minutes",
                    "starts_on",
                    "weeks",
                    "ends_on",
                )
            },
        ),
        ("Seats and price", {"fields": ("capacity", "price", "currency")}),
        ("Private", {"fields": ("video_url",)}),
    )

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        group = form.instance
        group_set_modules(group=group, modules=form.cleaned_data.get("modules", []))
        group_sessions_sync(group=group)
