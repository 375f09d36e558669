from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm

from grouport.admin_scoping import OperationsOnlyAdmin
from grouport.models import AuditEntry, User


class UserCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email",)


class UserEditForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(OperationsOnlyAdmin, BaseUserAdmin):
    add_form = UserCreationForm
    form = UserEditForm
    ordering = ("email",)
    list_display = ("email", "first_name", "last_name", "state", "is_staff", "is_active")
    list_filter = ("is_staff", "is_superuser", "is_active", "state")
    search_fields = ("email", "first_name", "last_name")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("first_name", "last_name", "state", "time_zone")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )

    def get_readonly_fields(self, request, obj=None):
        fields = tuple(super().get_readonly_fields(request, obj))
        if request.user.is_superuser:
            return fields
        # Staff manage accounts and roles, but cannot make anyone (themselves included) a
        # superuser or hand out permissions one by one.
        return (*fields, "is_superuser", "user_permissions")

    def has_change_permission(self, request, obj=None) -> bool:
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False  # nor change a superuser's account or password
        return super().has_change_permission(request, obj)

    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "usable_password", "password1", "password2")}),
    )


@admin.register(AuditEntry)
class AuditEntryAdmin(OperationsOnlyAdmin):
    """The audit trail: staff can read and filter it; nobody can add, change or delete it."""

    list_display = ("created_at", "actor", "action", "object_type", "object_id", "ip_address")
    list_filter = ("action", "object_type", ("actor", admin.RelatedOnlyFieldListFilter), "created_at")
    date_hierarchy = "created_at"
    search_fields = ("=object_id", "=actor__id")
    readonly_fields = [f.name for f in AuditEntry._meta.fields]
    list_select_related = ("actor",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
