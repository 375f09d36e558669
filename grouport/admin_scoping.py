"""Admin pieces shared by every app: what only staff (operations) may see.

Therapist scoping (a therapist sees only their own groups) lives with the groups, in
``groups/admin_scoping.py``: this layer does not know what a therapist is.
"""

import re
from collections.abc import Callable

from django.contrib import admin
from django.core.exceptions import FieldDoesNotExist
from django.db.models import BooleanField
from django.http import Http404, HttpRequest

from grouport.access import Access
from grouport.audit import audit_record
from grouport.roles import is_operations

# Ids, dates and date ranges: what list filters send that no one types about a person.
SAFE_FILTER_VALUE = re.compile(r"[0-9][0-9\-:.,+ ]{0,39}")


class OperationsOnlyAdmin(admin.ModelAdmin):
    """For models only staff (operations) may see at all."""

    access = Access.STAFF  # grouport/access.py

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_operations(request.user) and super().has_module_permission(request)

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return is_operations(request.user) and super().has_view_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return is_operations(request.user) and super().has_change_permission(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return is_operations(request.user) and super().has_add_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return is_operations(request.user) and super().has_delete_permission(request, obj)

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        raise Http404


class AuditedViewsAdmin(admin.ModelAdmin):
    """Every look at member data in the admin writes one audit entry, not one per row.

    A list or a search: who, which list, the filters used, how many rows matched. The words
    searched for are not kept (they are often a member's name or email): only that a search
    was made. A record's page and its history: who, which record.
    """

    def changelist_view(self, request: HttpRequest, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = (getattr(response, "context_data", None) or {}).get("cl")
        # Whatever the method: a POST (an action with nothing chosen, say) that answers with
        # the list shows the list.
        if changelist is not None and response.status_code == 200:
            filters = {
                key: value if self._filter_value_is_safe(key, value) else "[redacted]"
                for key, value in request.GET.items()
                if key not in ("q", "p", "o", "_changelist_filters", "e")
            }
            audit_record(
                actor=request.user,
                action="admin.list_viewed",
                object_type=self.model._meta.label_lower,
                data={
                    "filters": filters,
                    "searched": bool(changelist.query),
                    "rows": changelist.result_count,
                },
                request=request,
            )
        return response

    def _filter_value_is_safe(self, key: str, value: str) -> bool:
        """Keep a filter's value only when it cannot be a person's words: an id, a date, a
        yes/no, or one of a field's fixed choices (a status, a state). ``?last_name=Ber`` or
        ``?email__icontains=ana`` keep only the key."""
        if SAFE_FILTER_VALUE.fullmatch(value):
            return True
        try:
            field = self.model._meta.get_field(key.split("__", 1)[0])
        except FieldDoesNotExist:
            return False
        if isinstance(field, BooleanField):
            return True
        return bool(field.choices) and value in {str(choice) for choice, _label in field.flatchoices}

    def change_view(self, request: HttpRequest, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        # A GET, or a POST sent back with errors: either way the record is on the page.
        if response.status_code == 200:
            audit_record(
                actor=request.user,
                action="admin.record_viewed",
                object_type=self.model._meta.label_lower,
                object_id=str(object_id),
                request=request,
            )
        return response

    def history_view(self, request: HttpRequest, object_id, extra_context=None):
        response = super().history_view(request, object_id, extra_context)
        if response.status_code == 200:
            audit_record(
                actor=request.user,
                action="admin.history_viewed",
                object_type=self.model._meta.label_lower,
                object_id=str(object_id),
                request=request,
            )
        return response


class ReviewWithNoteAdmin:
    """An alert a clinician closes by writing what was done: the note is required while it is
    open (saving without one is an error on the form, not a quiet no-op), read-only after,
    and saving it is the review, through the alert's service and the audit trail."""

    review_help: str
    # The alert's service: ``review(alert=..., actor=..., note=...)``, audited by its transition.
    review_service: Callable[..., object]
    # The statuses in which it still waits for its review (a safety alert a clinician has
    # taken, "acknowledged", still does).
    reviewable_statuses: tuple[str, ...] = ("open",)

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and obj.status not in self.reviewable_statuses:
            fields.append("review_note")
        return fields

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        if "review_note" in form.base_fields:
            form.base_fields["review_note"].required = True
            form.base_fields["review_note"].help_text = self.review_help
        return form

    def save_model(self, request, obj, form, change) -> None:
        if obj.status in self.reviewable_statuses:
            type(self).review_service(
                alert=obj, actor=request.user, note=form.cleaned_data["review_note"].strip()
            )


class PublishedVersionAdmin(OperationsOnlyAdmin):
    """A versioned text members accept or sign (the group agreement, the telehealth consent):
    a published version is never edited or deleted; a change is a new version, started from
    the current text."""

    fields = ("version", "body", "body_es", "published_at")

    def get_changeform_initial_data(self, request: HttpRequest) -> dict:
        latest = self.model.objects.order_by("-version").first()
        initial = {"version": (latest.version + 1) if latest else 1}
        if latest is not None:
            initial.update(body=latest.body, body_es=latest.body_es)  # start from the current text
        return initial

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        return self.fields if obj is not None else ()

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        # Viewing is allowed (the page is read-only), saving over a version is not.
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
