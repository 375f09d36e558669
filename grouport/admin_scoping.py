"""Admin pieces shared by every app: what only staff (operations) may see.

Therapist scoping (a therapist sees only their own groups) lives with the groups, in
``groups/admin_scoping.py``: this layer does not know what a therapist is.
"""

from django.contrib import admin
from django.http import Http404, HttpRequest

from grouport.roles import is_operations


class OperationsOnlyAdmin(admin.ModelAdmin):
    """For models only staff (operations) may see at all."""

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
