"""Texts in the admin, for staff: who asked for texts, every text sent and what the provider
said, and texts people sent us (a message for a person is marked read once someone has
reached out). Every look is audited: a phone number is member data."""

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html_join

from grouport.admin_scoping import AuditedViewsAdmin, OperationsOnlyAdmin
from texting.models import InboundText, TextMessage, TextSubscription
from texting.services import inbound_mark_read, members_with_phone


class ReadOnlyAdmin(AuditedViewsAdmin, OperationsOnlyAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(TextSubscription)
class TextSubscriptionAdmin(ReadOnlyAdmin):
    """Members who asked for text reminders (only they turn them on, on their profile)."""

    list_display = ("id", "member_id", "status", "agreed_at", "changed_at")
    list_filter = ("status",)
    search_fields = ("phone", "member__email")
    fields = ("member_id", "phone", "status", "agreed_words", "agreed_at", "changed_at")

    @admin.display(description="Member")
    def member_id(self, obj: TextSubscription) -> str:
        return f"Member #{obj.member_id}"


@admin.register(TextMessage)
class TextMessageAdmin(ReadOnlyAdmin):
    """Every text and call sent: what for, when, and what the provider said (never its words)."""

    list_display = ("id", "purpose", "channel", "to", "status", "attempts", "created_at", "sent_at")
    list_filter = ("status", "purpose", "channel")
    search_fields = ("to", "key")
    fields = (
        "key",
        "purpose",
        "channel",
        "to",
        "status",
        "provider_sid",
        "attempts",
        "error",
        "created_at",
        "sent_at",
    )


@admin.register(InboundText)
class InboundTextAdmin(AuditedViewsAdmin, OperationsOnlyAdmin):
    """Texts people sent us. One that is not a keyword or a code waits here for a person:
    reach out, then mark it read. Refused requests are kept here too."""

    list_display = ("id", "outcome", "status", "received_at")
    list_filter = ("status", "outcome")
    search_fields = ("from_phone",)
    fields = ("outcome", "status", "from_phone", "who", "body", "reason", "message_sid", "received_at")
    readonly_fields = fields

    @admin.display(description="Who has this number")
    def who(self, obj: InboundText) -> str:
        """The members (their text reminders, or their intake's mobile) and on-call clinicians
        with this number, each a link: someone must know whom to call back."""
        people = members_with_phone(obj.from_phone)
        if not people:
            return "Nobody we know: not a member's number."
        return format_html_join(
            ", ",
            '<a href="{}">{}</a>',
            (
                (
                    reverse("admin:grouport_user_change", args=[user.pk]),
                    f"{user.get_full_name() or user.email} ({why})",
                )
                for user, why in people
            ),
        )

    actions = ["mark_read"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.action(description="Mark read (someone has reached out)")
    def mark_read(self, request: HttpRequest, queryset) -> None:
        inbound_mark_read(
            ids=list(queryset.values_list("pk", flat=True)), actor=request.user, request=request
        )
