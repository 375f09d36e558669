"""Intake in the admin: the screening questions and consent versions, written by staff in
both languages; screening flags, which the therapists of the member's groups and staff
review with a note. Every look is audited."""

from django.contrib import admin, messages
from django.http import HttpRequest
from django.shortcuts import redirect
from django.utils import timezone

from grouport.admin_scoping import (
    AuditedViewsAdmin,
    OperationsOnlyAdmin,
    PublishedVersionAdmin,
    ReviewWithNoteAdmin,
)
from grouport.roles import is_operations
from groups.admin_scoping import TherapistScopedAdmin
from groups.selectors import therapist_of
from intake.models import ConsentVersion, ScreeningFlag, ScreeningQuestion
from intake.selectors import intake_summaries
from intake.services import screening_flag_review

# A member's seat that a therapist treats: held for review, or confirmed (a payment hold
# not yet paid, or a waitlist offer not yet accepted, shows the therapist nothing yet).
ACTIVE_SEAT_STATUSES = ("review", "confirmed")


@admin.register(ScreeningQuestion)
class ScreeningQuestionAdmin(OperationsOnlyAdmin):
    """Questions asked before a therapy seat. Changing the wording of one asks every member
    again at their next seat (their answer was to other words)."""

    list_display = ("position", "text", "kind", "flags_on", "active")
    list_display_links = ("text",)
    fields = ("position", "text", "text_es", "kind", "choices", "choices_es", "flags_on", "active")

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # answers point at it; retire it with "active" instead

    def save_model(self, request, obj: ScreeningQuestion, form, change) -> None:
        if change and {"text", "text_es", "kind", "choices", "choices_es"} & set(form.changed_data):
            obj.changed_at = timezone.now()
        super().save_model(request, obj, form, change)


@admin.register(ConsentVersion)
class ConsentVersionAdmin(PublishedVersionAdmin):
    """The consent to telehealth group treatment. A version is never edited: a change is a
    new version, and every member signs it before their next seat and at their next check-in."""

    list_display = ("__str__", "published_at", "signed_by")

    @admin.display(description="Signed by")
    def signed_by(self, obj: ConsentVersion) -> int:
        return obj.signatures.count()


@admin.register(ScreeningFlag)
class ScreeningFlagAdmin(ReviewWithNoteAdmin, AuditedViewsAdmin, TherapistScopedAdmin):
    """Screening answers that need a clinician's eyes. A therapist sees the flags of members
    who hold a seat in one of their groups, and nobody else's."""

    list_display = ("id", "member_id", "status", "created_at")
    list_filter = ("status",)
    readonly_fields = ("member_id", "answers", "status", "created_at", "reviewed_by", "reviewed_at")
    fields = (*readonly_fields, "review_note")
    review_help = "What was decided, with the member. Saving marks it reviewed."
    review_service = screening_flag_review

    def get_queryset(self, request: HttpRequest):
        queryset = admin.ModelAdmin.get_queryset(self, request)
        if is_operations(request.user):
            return queryset
        therapist = therapist_of(request.user)
        if therapist is None:
            return queryset.none()
        # Through the seats' relation to members (a path, like therapist_path elsewhere).
        return queryset.filter(
            member__reservations__group__therapist=therapist,
            member__reservations__group__kind="therapy",
            member__reservations__status__in=ACTIVE_SEAT_STATUSES,
        ).distinct()

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="Member")
    def member_id(self, obj: ScreeningFlag) -> str:
        return f"Member #{obj.member_id}"

    @admin.display(description="Answers")
    def answers(self, obj: ScreeningFlag):
        from django.template.loader import render_to_string

        summary = intake_summaries([obj.member_id])[obj.member_id]
        return render_to_string("admin/intake/_summary.html", {"intake": summary})

    def response_change(self, request, obj):
        messages.success(request, "Marked reviewed. The flag is off the roster.")
        return redirect("admin:intake_screeningflag_changelist")
