"""The roster in the admin: a group's page with its members, held seats, waitlist,
attendance, flags, outcomes and alerts on one page, its CSV export, and a clinician's
decision on sessions missed in a row.

The group page is registered by groups (``groups/admin.py``); the roster puts seats,
attendance and care together, so it extends that page here. Every view or export of a
roster and every decision is audited.
"""

from django import forms
from django.contrib import admin, messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from attendance.models import AttendanceFlag
from attendance.services.attendance import attendance_flag_review
from care.models import SuperbillRequest
from care.services import superbill_diagnose
from grouport.admin_scoping import AuditedViewsAdmin
from grouport.audit import audit_record
from grouport.exceptions import DomainError
from groups.admin import GroupAdmin
from groups.admin_scoping import TherapistScopedAdmin
from groups.models import Group
from portal.roster import group_roster, roster_csv
from portal.superbills import superbill_of


class GroupRosterAdmin(GroupAdmin):
    """The group page, with its roster (members, held seats, waitlist, attendance, flags)."""

    list_display = (*GroupAdmin.list_display, "roster")

    @admin.display(description="Roster")
    def roster(self, obj: Group) -> str:
        return format_html('<a href="{}">Roster</a>', reverse("admin:groups_group_roster", args=[obj.pk]))

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
            path(
                "<int:object_id>/roster/attendance-flags/<int:flag_id>/",
                self.admin_site.admin_view(self.attendance_flag_view),
                name="groups_group_attendance_flag",
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
        return TemplateResponse(request, "admin/portal/roster.html", context)

    def attendance_flag_view(self, request: HttpRequest, object_id: int, flag_id: int) -> HttpResponse:
        """A clinician's decision on sessions missed in a row: keep the seat (reviewed), or, at
        the group's limit, end it under the attendance rule. One click, by a person."""
        group = self._scoped_group(request, object_id)
        flag = AttendanceFlag.objects.filter(pk=flag_id, reservation__group=group).first()
        if flag is None:
            raise Http404
        if request.method == "POST":
            decision = request.POST.get("decision")
            note = request.POST.get("note", "").strip()
            if decision not in ("reviewed", "end_seat"):
                messages.error(request, "Choose to keep the seat or to end it.")
            elif decision == "end_seat" and request.POST.get("confirmed") != "yes" and flag.limit_reached:
                # Ending a seat cannot be undone from here: say what it does, and ask once more.
                context = {
                    **self.admin_site.each_context(request),
                    "opts": self.opts,
                    "title": "End this seat under the attendance rule?",
                    "group": group,
                    "flag": flag,
                    "note": note,
                    "original": group,
                }
                return TemplateResponse(request, "admin/portal/end_seat_confirm.html", context)
            else:
                try:
                    attendance_flag_review(
                        flag=flag,
                        actor=request.user,
                        note=note,
                        end_seat=decision == "end_seat",
                        request=request,
                    )
                except DomainError as error:
                    messages.error(request, error.detail)
                else:
                    messages.success(
                        request,
                        "The seat was ended under the attendance rule; the member is emailed."
                        if decision == "end_seat"
                        else "Marked reviewed; the seat stays.",
                    )
        return redirect("admin:groups_group_roster", object_id=group.pk)

    def roster_csv_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        group = self._scoped_group(request, object_id)
        audit_record(actor=request.user, action="roster.exported", obj=group, request=request)
        response = HttpResponse(roster_csv(group_roster(group=group)), content_type="text/csv; charset=utf-8")
        # A neutral name: a downloads folder should not say what kind of group it is.
        response["Content-Disposition"] = f'attachment; filename="roster-{group.pk}.csv"'
        return response


admin.site.unregister(Group)
admin.site.register(Group, GroupRosterAdmin)


class SuperbillDiagnosisForm(forms.ModelForm):
    class Meta:
        model = SuperbillRequest
        fields = ("diagnosis_code",)

    def clean_diagnosis_code(self) -> str:
        # As therapists type it ("f43.10 "), checked as ICD-10-CM writes it.
        return "".join(self.cleaned_data.get("diagnosis_code", "").split()).upper()


@admin.register(SuperbillRequest)
class SuperbillRequestAdmin(AuditedViewsAdmin, TherapistScopedAdmin):
    """Superbills members asked for: the group's therapist (or staff) gives the diagnosis code
    once (audited), then anyone of them may open the superbill as the member sees it (each
    look audited)."""

    therapist_path = "reservation__group__therapist"
    operations_only_filters = ("reservation__group__therapist",)
    list_display = ("id", "reservation", "group", "requested_at", "ready", "superbill_link")
    list_filter = ("reservation__group__therapist",)
    list_select_related = ("reservation__group",)
    form = SuperbillDiagnosisForm

    @admin.display(description="Group")
    def group(self, obj: SuperbillRequest) -> str:
        return obj.reservation.group.title

    @admin.display(description="Diagnosis given", boolean=True)
    def ready(self, obj: SuperbillRequest) -> bool:
        return bool(obj.diagnosis_code)

    @admin.display(description="Superbill")
    def superbill_link(self, obj: SuperbillRequest) -> str:
        if not obj.diagnosis_code:
            return "Waiting for the diagnosis code"
        return format_html(
            '<a href="{}">Open</a>', reverse("admin:care_superbillrequest_superbill", args=[obj.pk])
        )

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        shown = ("reservation", "requested_at", "diagnosis_by", "diagnosis_at")
        # Given once: a correction is staff's business, with the audit trail behind it. Asked
        # of the database: a refused code typed a moment ago is on ``obj`` but not given.
        given = (
            obj is not None and SuperbillRequest.objects.filter(pk=obj.pk).exclude(diagnosis_code="").exists()
        )
        return (*shown, "diagnosis_code") if given else shown

    def get_fields(self, request: HttpRequest, obj=None):
        return ("reservation", "requested_at", "diagnosis_code", "diagnosis_by", "diagnosis_at")

    def save_model(self, request: HttpRequest, obj: SuperbillRequest, form, change: bool) -> None:
        code = form.cleaned_data.get("diagnosis_code", "")
        if code and "diagnosis_code" in form.changed_data:
            fresh = SuperbillRequest.objects.get(pk=obj.pk)
            try:
                superbill_diagnose(request=fresh, code=code, actor=request.user, http_request=request)
            except DomainError as error:
                messages.error(request, error.detail)

    def get_urls(self):
        return [
            path(
                "<int:object_id>/superbill/",
                self.admin_site.admin_view(self.superbill_view),
                name="care_superbillrequest_superbill",
            ),
            *super().get_urls(),
        ]

    def superbill_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        found = self.get_object(request, str(object_id))
        if found is None or not self.has_view_permission(request, found) or not found.diagnosis_code:
            raise Http404
        audit_record(actor=request.user, action="superbill.viewed", obj=found, request=request)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Superbill {found.pk}",
            "bill": superbill_of(found),
            "original": found,
        }
        return TemplateResponse(request, "admin/care/superbill.html", context)
