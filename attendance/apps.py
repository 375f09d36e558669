from django.apps import AppConfig


class AttendanceConfig(AppConfig):
    """Turning up: join links and check-in, attendance and its rule, reminders, the live view
    of a session, calendar files."""

    name = "attendance"
    verbose_name = "Sessions and attendance"
    role_permissions = {
        "therapist": {"attendance": ("view", "add", "change")},
        "staff": {"attendance": ("view", "add", "change"), "reminder": ("view",)},
    }

    def ready(self) -> None:
        from attendance import (  # noqa: F401
            outbox,  # registers the outbox handlers
            receivers,  # a session cancelled: its members are told
            tasks,  # queued by name (reminders)
        )
        from attendance.calendar import seat_calendar_changes
        from enrollment.ports import seat_email_attachments_provide

        # A seat's email (cancelled, moved) carries what changes in the member's calendar.
        seat_email_attachments_provide(seat_calendar_changes)
