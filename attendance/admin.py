"""Sessions in the admin: the session page with its attendance sheet, the live view of a
session as it happens, "cancel and tell the members"; and staff's list of reminders.

The session page is registered by groups (``groups/admin.py``); attendance extends it here
because the sheet and the live view show and change attendance's rows. Every look and
every change is audited.
"""

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from attendance.live import live_shows_plan, session_live
from attendance.models import Attendance, Reminder
from attendance.selectors import attendance_sheet
from attendance.services.attendance import attendance_mark
from attendance.services.room import room_has_lobby, room_let_in
from attendance.video import VideoUnavailable, host_way_in
from grouport.admin_scoping import AuditedViewsAdmin, OperationsOnlyAdmin
from grouport.audit import audit_record
from grouport.exceptions import DomainError
from groups.admin import GroupSessionAdmin
from groups.models import GroupSession
from groups.services import session_cancel

ROOM_STATUSES = {
    "waiting": "Waiting to be let in",
    "let_in": "Let in",
    "in_room": "In the room",
    "out": "Let in, not in the room now",
}
LIVE_STATUSES = {
    "checked_in": "Checked in",
    "absent": "Absent",
    "excused": "Excused (can't make it)",
    "refused": "Tried from elsewhere",
    "not_joined": "Not joined yet",
}


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
            path(
                "<int:object_id>/room/",
                self.admin_site.admin_view(self.room_view),
                name="groups_groupsession_room",
            ),
            path(
                "<int:object_id>/room/let-in/",
                self.admin_site.admin_view(self.let_in_view),
                name="groups_groupsession_let_in",
            ),
            *super().get_urls(),
        ]

    def live_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """The session as it happens, refreshed every 15 seconds: checked in (when, from where,
        how late), can't make it, tried from elsewhere, not joined yet; and, with the video
        room open, who waits to be let in (with a button each, and one for everyone), who was
        let in and who is in the room now (when the provider says)."""
        session = self.get_object(request, str(object_id))
        if session is None or not self.has_view_permission(request, session):
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        rows = session_live(session=session)
        audit_record(
            actor=request.user,
            action="session.live_viewed",
            obj=session,
            data={"emergency_plan": live_shows_plan(rows)},
            request=request,
        )
        counts = {status: sum(1 for r in rows if r.status == status) for status in LIVE_STATUSES}
        waiting = sum(1 for r in rows if r.room == "waiting")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Live: {session}",
            "session": session,
            "rows": rows,
            "counts": counts,
            "labels": LIVE_STATUSES,
            "room_labels": ROOM_STATUSES,
            "lobby": room_has_lobby(),
            "waiting": waiting,
            "room_open": session.join_open(timezone.now())
            and session.status == GroupSession.Status.SCHEDULED,
            "now": timezone.now(),
            "original": session,
        }
        return TemplateResponse(request, "admin/attendance/session_live.html", context)

    def room_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """The session's video room, as its host: the therapist (or staff) lets members in
        from the lobby. Open from the join window's opening to the session's end."""
        session = self.get_object(request, str(object_id))
        if session is None or not self.has_view_permission(request, session):
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        now = timezone.now()
        if not session.join_open(now) or session.status != GroupSession.Status.SCHEDULED:
            self.message_user(request, "The room opens with the join window and closes at the session's end.")
            return redirect("admin:groups_groupsession_live", session.pk)
        try:
            way_in = host_way_in(session=session, clinician=request.user)
        except VideoUnavailable:
            self.message_user(
                request, "The video service is not answering. Try again in a moment.", messages.ERROR
            )
            return redirect("admin:groups_groupsession_live", session.pk)
        audit_record(actor=request.user, action="session.room_opened", obj=session, request=request)
        return redirect(way_in)

    def let_in_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """Let members waiting in the lobby into the room (POST): one (``reservation``) or
        everyone waiting. Only the group's therapist and staff, while the room is open."""
        session = self.get_object(request, str(object_id))
        if session is None or not self.has_change_permission(request, session):
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if request.method != "POST":
            return redirect("admin:groups_groupsession_live", session.pk)
        if not session.join_open(timezone.now()) or session.status != GroupSession.Status.SCHEDULED:
            self.message_user(request, "The room opens with the join window and closes at the session's end.")
            return redirect("admin:groups_groupsession_live", session.pk)
        chosen = request.POST.get("reservation", "")
        if chosen and not chosen.isdigit():
            self.message_user(request, "Choose someone who is waiting.", messages.ERROR)
            return redirect("admin:groups_groupsession_live", session.pk)
        count = room_let_in(
            session=session,
            actor=request.user,
            reservation_ids=[int(chosen)] if chosen else None,
            request=request,
        )
        self.message_user(
            request,
            f"Let in: {count}." if count else "Nobody was waiting (someone may have let them in already).",
            messages.SUCCESS if count else messages.INFO,
        )
        return redirect("admin:groups_groupsession_live", session.pk)

    def attendance_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        session = self.get_object(request, str(object_id))
        if session is None or not self.has_change_permission(request, session):
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        sheet = attendance_sheet(session=session)
        if request.method == "POST":
            marks = {
                row.reservation.pk: request.POST[f"r{row.reservation.pk}"]
                for row in sheet
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
            "sheet": sheet,
            "statuses": Attendance.Status.choices,
            "original": session,
        }
        return TemplateResponse(request, "admin/attendance/attendance.html", context)


admin.site.unregister(GroupSession)
admin.site.register(GroupSession, GroupSessionAttendanceAdmin)


@admin.register(Reminder)
class ReminderAdmin(AuditedViewsAdmin, OperationsOnlyAdmin):
    # Tries and errors of its email are on its outbox message (key reminder-<id>).
    list_display = ("id", "session", "reservation_id", "kind", "status", "last_error", "sent_at")
    list_filter = ("status", "kind")
    readonly_fields = [f.name for f in Reminder._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False
