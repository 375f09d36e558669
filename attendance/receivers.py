"""Attendance's answers to events from the layers below, inside the event's transaction."""

from django.dispatch import receiver

from attendance.services.reminders import session_cancelled_notify
from groups.signals import session_cancelled


@receiver(session_cancelled, dispatch_uid="attendance.session_cancelled")
def on_session_cancelled(sender, *, session, now, **kwargs) -> None:
    session_cancelled_notify(session=session, now=now)
