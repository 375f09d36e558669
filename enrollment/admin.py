"""Enrollment in the admin: staff's reservations, waitlists and reminders, and what a
therapist does with their own groups (rosters, attendance, cancelling a session).

The group and session pages are registered by groups (``groups/admin.py``); enrollment
extends them here with the roster, its CSV export, the attendance sheet and the cancel
action, because those show and change enrollment's rows. Every view or export of a roster
and every change is written to the audit trail.
"""

from collections.abc import Callable

from django import forms
from django.contrib import admin, messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join

from enrollment.models import (
    Attendance,
    AttendanceFlag,
    GroupAgreement,
    Measure,
    Reminder,
    Reservation,
    ResidenceAlert,
    SafetyAlert,
    WaitlistEntry,
)
from enrollment.roster import group_roster, roster_csv, session_live
from enrollment.services.attendance import attendance_flag_review, attendance_mark, reservation_move
from enrollment.services.eligibility import residence_alert_review
from enrollment.services.outcomes import safety_alert_review
from enrollment.services.reservations import reservation_cancel
from grouport.admin_scoping import AuditedViewsAdmin, OperationsOnlyAdmin
from grouport.audit import audit_record
from grouport.exceptions import DomainError
from groups.admin import GroupAdmin, GroupSessionAdmin
from groups.admin_scoping import TherapistScopedAdmin
from groups.models import Group, GroupSession
from groups.services import session_cancel

LIVE_STATUSES = {
    "checked_in": "Checked in",
    "absent": "Absent",
    "excused": "Excused (can't make it)",
    "refused": "Tried from elsewhere",
    "not_joined": "Not joined yet",
}


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
        return TemplateResponse(request, "admin/enrollment/roster.html", context)

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
                return TemplateResponse(request, "admin/enrollment/end_seat_confirm.html", context)
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


class GroupSessionAttendanceAdmin(GroupSessionAdmin):
    """The session page, with its attendance sheet and "cancel and tell the members"."""

    list_display = (*GroupSessionAdmin.list_display, "attendance_link")
    actions = ["cancel_sessions"]

    @admin.display(description="Attendance")
    def attendance_link(self, obj: GroupSession) -> str:
        return format_html(
            '<a href="{}">Live</a> · <a href="{}">Mark attendance</a>',
            reverse("admin:groups_groupsession_live", args=[obj.pk]),
            reverse("admin:groups_groupsession_attendance", args=[obj.pk]),
        )

    @admin.action(description="Cancel the selected sessions and tell their members")
    def cancel_sessions(self, request: HttpRequest, queryset) -> None:
        for session in queryset:
            session_cancel(session=session, actor=request.user)
        self.message_user(request, f"{queryset.count()} session(s) cancelled; members are being notified.")

    def get_urls(self):
        return [
            path(
                "<int:object_id>/attendance/",
                self.admin_site.admin_view(self.attendance_view),
                name="groups_groupsession_attendance",
            ),
            path(
                "<int:object_id>/live/",
                self.admin_site.admin_view(self.live_view),
                name="groups_groupsession_live",
            ),
            *super().get_urls(),
        ]

    def live_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """The session as it happens, refreshed every 30 seconds: checked in (when, from where,
        how late), can't make it, tried from elsewhere, not joined yet."""
        session = self.get_object(request, str(object_id))
        if session is None or not self.has_view_permission(request, session):
            self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        rows = session_live(session=session)
        audit_record(actor=request.user, action="session.live_viewed", obj=session, request=request)
        counts = {status: sum(1 for r in rows if r.status == status) for status in LIVE_STATUSES}
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Live: {session}",
            "session": session,
            "rows": rows,
            "counts": counts,
            "labels": LIVE_STATUSES,
            "now": timezone.now(),
            "original": session,
        }
        return TemplateResponse(request, "admin/enrollment/session_live.html", context)

    def attendance_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        session = self.get_object(request, str(object_id))
        if session is None or not self.has_change_permission(request, session):
            self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        roster = group_roster(group=session.group)
        if request.method == "POST":
            marks = {
                row.reservation.pk: request.POST[f"r{row.reservation.pk}"]
                for row in roster.members
                if request.POST.get(f"r{row.reservation.pk}")
            }
            try:
                changed = attendance_mark(session=session, marks=marks, actor=request.user, request=request)
            except DomainError as error:
                messages.error(request, error.detail)
            else:
                messages.success(request, f"Attendance saved ({len(changed)} change(s)).")
                return redirect("admin:groups_group_roster", object_id=session.group_id)
        audit_record(actor=request.user, action="roster.viewed", obj=session.group, request=request)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Attendance: {session}",
            "session": session,
            "roster": roster,
            "statuses": Attendance.Status.choices,
            "original": session,
        }
        return TemplateResponse(request, "admin/enrollment/attendance.html", context)


admin.site.unregister(Group)
admin.site.register(Group, GroupRosterAdmin)
admin.site.unregister(GroupSession)
admin.site.register(GroupSession, GroupSessionAttendanceAdmin)


@admin.register(GroupAgreement)
class GroupAgreementAdmin(OperationsOnlyAdmin):
    """The group agreement members accept. A published version is never edited: a change is a
    new version (members who accepted the old one are asked again at their next seat, and
    every roster shows which version each member accepted)."""

    list_display = ("__str__", "published_at", "accepted_by")
    fields = ("version", "body", "body_es", "published_at")

    def get_changeform_initial_data(self, request: HttpRequest) -> dict:
        latest = GroupAgreement.objects.order_by("-version").first()
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

    @admin.display(description="Accepted by (seats)")
    def accepted_by(self, obj: GroupAgreement) -> int:
        return Reservation.objects.filter(agreement=obj).count()


@admin.register(Reservation)
class ReservationAdmin(AuditedViewsAdmin, OperationsOnlyAdmin):
    list_display = ("id", "member_id", "group", "status", "source", "expires_at", "confirmed_at", "move_link")
    list_filter = ("status", "source", "group__kind")
    search_fields = ("=id", "member__email", "group__title")
    list_select_related = ("group",)
    readonly_fields = [f.name for f in Reservation._meta.fields]
    autocomplete_fields = ("group",)
    actions = ["cancel_with_refund", "cancel_without_refund"]

    def has_add_permission(self, request) -> bool:
        return False  # seats are taken through the reservation service, never typed in

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="Move")
    def move_link(self, obj: Reservation) -> str:
        if obj.status != Reservation.Status.CONFIRMED:
            return ""
        return format_html(
            '<a href="{}">Move…</a>', reverse("admin:enrollment_reservation_move", args=[obj.pk])
        )

    def _cancel(self, request: HttpRequest, queryset, *, refund: str) -> None:
        done = 0
        for reservation in queryset.filter(status__in=Reservation.ACTIVE):
            try:
                reservation_cancel(
                    reservation=reservation,
                    actor=request.user,
                    refund=refund,
                    reason=Reservation.EndReason.STAFF,
                )
                done += 1
            except DomainError as error:
                messages.error(request, f"Reservation {reservation.pk}: {error.detail}")
        self.message_user(request, f"{done} reservation(s) cancelled.")

    @admin.action(description="Cancel and refund in full")
    def cancel_with_refund(self, request: HttpRequest, queryset) -> None:
        self._cancel(request, queryset, refund="full")

    @admin.action(description="Cancel without refund")
    def cancel_without_refund(self, request: HttpRequest, queryset) -> None:
        self._cancel(request, queryset, refund="none")

    def get_urls(self):
        return [
            path(
                "<int:object_id>/move/",
                self.admin_site.admin_view(self.move_view),
                name="enrollment_reservation_move",
            ),
            *super().get_urls(),
        ]

    def move_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        reservation = self.get_object(request, str(object_id))
        if reservation is None or not self.has_change_permission(request, reservation):
            self._get_obj_does_not_exist_redirect(request, self.opts, object_id)

        class MoveForm(forms.Form):
            to_group = forms.ModelChoiceField(
                queryset=Group.objects.filter(status=Group.Status.PUBLISHED).exclude(pk=reservation.group_id),
                label="Move to",
            )

        form = MoveForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                moved = reservation_move(
                    reservation=reservation,
                    to_group=form.cleaned_data["to_group"],
                    actor=request.user,
                    request=request,
                )
            except DomainError as error:
                form.add_error(None, error.detail)
            else:
                messages.success(request, f"Moved to {moved.group}; the member has been emailed.")
                return redirect("admin:enrollment_reservation_change", moved.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Move reservation {reservation.pk}",
            "reservation": reservation,
            "form": form,
            "original": reservation,
        }
        return TemplateResponse(request, "admin/enrollment/reservation/move.html", context)


class ReviewWithNoteAdmin:
    """An alert a clinician closes by writing what was done: the note is required while it is
    open (saving without one is an error on the form, not a quiet no-op), read-only after,
    and saving it is the review, through the alert's service and the audit trail."""

    review_help: str
    # The alert's service: ``review(alert=..., actor=..., note=...)``, audited by its transition.
    review_service: Callable[..., object]

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and obj.status != "open":
            fields.append("review_note")
        return fields

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        if "review_note" in form.base_fields:
            form.base_fields["review_note"].required = True
            form.base_fields["review_note"].help_text = self.review_help
        return form

    def save_model(self, request, obj, form, change) -> None:
        if obj.status == "open":
            type(self).review_service(
                alert=obj, actor=request.user, note=form.cleaned_data["review_note"].strip()
            )


@admin.register(ResidenceAlert)
class ResidenceAlertAdmin(ReviewWithNoteAdmin, AuditedViewsAdmin, TherapistScopedAdmin):
    """Flags raised when a member's state changed under a therapy seat: read, then review."""

    therapist_path = "group__therapist"
    operations_only_filters = ("group__therapist",)
    list_display = ("id", "group", "reservation_id", "old_state", "new_state", "status", "created_at")
    list_filter = ("status", "group__therapist")
    list_select_related = ("group",)
    readonly_fields = [f.name for f in ResidenceAlert._meta.fields if f.name != "review_note"]
    fields = (
        "group", "reservation", "old_state", "new_state", "status", "created_at",
        "reviewed_by", "reviewed_at", "review_note",
    )  # fmt: skip

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    review_help = "What was decided, with the member. Saving marks it reviewed."
    review_service = residence_alert_review

    def response_change(self, request, obj):
        messages.success(request, "Marked reviewed. The flag is off the roster.")
        return redirect("admin:groups_group_roster", object_id=obj.group_id)


@admin.register(SafetyAlert)
class SafetyAlertAdmin(ReviewWithNoteAdmin, AuditedViewsAdmin, TherapistScopedAdmin):
    """An answer that needs a person to look at once: open it, reach out, write what was done.
    A therapist sees their own groups' alerts; staff see all. Every look is audited."""

    therapist_path = "reservation__group__therapist"
    operations_only_filters = ("reservation__group__therapist",)
    list_display = ("id", "member", "group", "status", "raised")
    list_filter = ("status",)
    list_select_related = ("reservation__group", "reservation__member")
    readonly_fields = (
        "member",
        "contact",
        "language",
        "group",
        "roster_link",
        "answers",
        "status",
        "raised",
        "reviewer",
        "reviewed",
    )
    fields = (*readonly_fields, "review_note")

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="Member")
    def member(self, obj: SafetyAlert) -> str:
        return obj.reservation.member.get_full_name() or f"Member #{obj.reservation.member_id}"

    @admin.display(description="Contact")
    def contact(self, obj: SafetyAlert) -> str:
        return obj.reservation.member.email

    @admin.display(description="Group")
    def group(self, obj: SafetyAlert) -> str:
        return obj.reservation.group.title

    @admin.display(description="Answers")
    def answers(self, obj: SafetyAlert) -> str:
        response = obj.response
        if response is None:
            # The questionnaire closed, or was not finished: only the safety answer is known.
            lines = ["The other answers could not be kept (closed meanwhile, or not finished)."]
            for code, given in obj.safety_answers.items():
                measure = Measure.objects.filter(code=code).order_by("-version").first()
                if measure is None:
                    continue
                items = {i.number: i.text for i in measure.items.all()}
                labels = {o["value"]: o["label"] for o in measure.options}
                lines += [
                    f"{code} {n}. {items.get(int(n), '')}: {labels.get(v, v)}" for n, v in given.items()
                ]
            return format_html_join("", "<div>{}</div>", ((line,) for line in lines))
        items = {i.number: i.text for i in response.measure.items.all()}
        labels = {o["value"]: o["label"] for o in response.measure.options}
        lines = [f"{response.measure.code} total {response.total} ({response.band_label})"]
        lines += [f"{n}. {items.get(int(n), '')}: {labels.get(v, v)}" for n, v in response.answers.items()]
        return format_html_join("", "<div>{}</div>", ((line,) for line in lines))

    @admin.display(description="Raised")
    def raised(self, obj: SafetyAlert) -> str:
        # In the reader's zone, named (StaffTimeZoneMiddleware): on call at night, "when" is theirs.
        return date_format(timezone.localtime(obj.created_at), "M j, Y, g:i A T")

    @admin.display(description="Reviewed at")
    def reviewed(self, obj: SafetyAlert) -> str:
        if obj.reviewed_at is None:
            return "—"
        return date_format(timezone.localtime(obj.reviewed_at), "M j, Y, g:i A T")

    @admin.display(description="Reviewed by")
    def reviewer(self, obj: SafetyAlert) -> str:
        if obj.reviewed_by is None:
            return "—"
        return obj.reviewed_by.get_full_name() or obj.reviewed_by.email

    @admin.display(description="Member's language")
    def language(self, obj: SafetyAlert) -> str:
        return {"es": "Spanish", "en": "English"}.get(obj.reservation.member.language or "en", "English")

    @admin.display(description="Roster")
    def roster_link(self, obj: SafetyAlert) -> str:
        return format_html(
            '<a href="{}">The group\'s roster</a>',
            reverse("admin:groups_group_roster", args=[obj.reservation.group_id]),
        )

    review_help = "What was done (who called, when, the plan). Saving marks it reviewed."
    review_service = safety_alert_review

    def response_change(self, request, obj):
        messages.success(request, "Marked reviewed. The flag is off the roster.")
        return redirect("admin:groups_group_roster", object_id=obj.reservation.group_id)


@admin.register(WaitlistEntry)
class WaitlistEntryAdmin(AuditedViewsAdmin, OperationsOnlyAdmin):
    list_display = ("id", "member_id", "group", "status", "created_at", "offered_at")
    list_filter = ("status",)
    readonly_fields = [f.name for f in WaitlistEntry._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Reminder)
class ReminderAdmin(AuditedViewsAdmin, OperationsOnlyAdmin):
    list_display = ("id", "session", "reservation_id", "kind", "status", "attempts", "last_error", "sent_at")
    list_filter = ("status", "kind")
    readonly_fields = [f.name for f in Reminder._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False
