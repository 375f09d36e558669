"""Therapists see only their own groups in the admin; staff see everything.

A therapist's admin querysets are filtered to their own groups on every path that reads
objects (list, change, history, delete, actions, autocomplete), and an object outside that
scope is a 404 rather than Django's redirect, so a guessed URL shows nothing of it.
"""

from django.contrib import admin
from django.http import Http404, HttpRequest

from grouport.access import Access
from grouport.roles import is_operations
from groups.selectors import therapist_of


class TherapistScopedAdmin(admin.ModelAdmin):
    """Staff see every row; a therapist sees the rows of their own groups, and nothing else."""

    # Its pages show members of a group to that group's therapist and staff (grouport/access.py).
    access = Access.CLINICAL

    # The path from this model to its group's Therapist, e.g. "therapist" or "group__therapist".
    therapist_path = "therapist"
    # Fields a therapist may see but not change (prices, capacity, licenses...).
    therapist_readonly: tuple[str, ...] = ()
    # Filters that would list other therapists' names.
    operations_only_filters: tuple[str, ...] = ()

    def get_queryset(self, request: HttpRequest):
        queryset = super().get_queryset(request)
        if is_operations(request.user):
            return queryset
        therapist = therapist_of(request.user)
        if therapist is None:
            return queryset.none()
        return queryset.filter(**{self.therapist_path: therapist})

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        fields = tuple(super().get_readonly_fields(request, obj))
        if is_operations(request.user):
            return fields
        return fields + tuple(f for f in self.therapist_readonly if f not in fields)

    def get_list_filter(self, request: HttpRequest):
        filters = super().get_list_filter(request)
        if is_operations(request.user):
            return filters
        return [f for f in filters if f not in self.operations_only_filters]

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return is_operations(request.user) and super().has_delete_permission(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return is_operations(request.user) and super().has_add_permission(request)

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        # Another therapist's object does not exist for this one: 404, not a hint.
        raise Http404
