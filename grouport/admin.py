from allauth.account.admin import EmailAddressAdmin as BaseEmailAddressAdmin
from allauth.account.models import EmailAddress
from allauth.mfa.admin import AuthenticatorAdmin as BaseAuthenticatorAdmin
from allauth.mfa.models import Authenticator
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.http import HttpRequest
from knox.models import AuthToken

from grouport.admin_scoping import AuditedViewsAdmin, OperationsOnlyAdmin
from grouport.models import AuditEntry, OutboxMessage, User
from grouport.outbox import outbox_retry
from grouport.services import member_profile_update


class UserCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email",)


class UserEditForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(AuditedViewsAdmin, OperationsOnlyAdmin, BaseUserAdmin):
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

    def save_model(self, request, obj, form, change) -> None:
        if not (change and "state" in form.changed_data):
            return super().save_model(request, obj, form, change)
        # A change of state goes through the profile service, like the member's own: what
        # it means for their therapy seats is worked out and they are told.
        new_state = obj.state
        obj.state = form.initial.get("state", "")
        super().save_model(request, obj, form, change)
        for notice in member_profile_update(member=obj, data={"state": new_state}, actor=request.user):
            messages.info(request, f"Member told: {notice}")

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


@admin.register(OutboxMessage)
class OutboxMessageAdmin(OperationsOnlyAdmin):
    """Side effects on their way out: staff see what failed and may send it again."""

    list_display = ("id", "kind", "status", "attempts", "last_error", "created_at", "done_at")
    list_filter = ("status", "kind")
    search_fields = ("=id",)
    readonly_fields = [f.name for f in OutboxMessage._meta.fields]
    actions = ["retry"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Send the selected failed messages again")
    def retry(self, request: HttpRequest, queryset) -> None:
        failed = list(queryset.filter(status=OutboxMessage.Status.FAILED))
        for message in failed:
            outbox_retry(message=message, actor=request.user)
        self.message_user(request, f"{len(failed)} message(s) queued again.")


# Members' email addresses and second factors are account data: staff only, every look audited.
admin.site.unregister(EmailAddress)
admin.site.unregister(Authenticator)
# API tokens are their owners' to list and revoke (the API); nobody creates one for someone else.
admin.site.unregister(AuthToken)


@admin.register(EmailAddress)
class EmailAddressAdmin(AuditedViewsAdmin, OperationsOnlyAdmin, BaseEmailAddressAdmin):
    pass


@admin.register(Authenticator)
class AuthenticatorAdmin(AuditedViewsAdmin, OperationsOnlyAdmin, BaseAuthenticatorAdmin):
    """Staff see who has a second factor; a lost device is reset by deleting it (superusers)."""

    readonly_fields = ("user", "type", "created_at", "last_used_at")
    exclude = ("data",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser
