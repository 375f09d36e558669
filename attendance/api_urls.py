"""Attendance's API routes (a seat's sessions, check-in, a session's attendance), under /api/."""

from django.urls import path

from attendance import api

urlpatterns = [
    path(
        "reservations/<int:pk>/sessions/", api.ReservationSessionsApi.as_view(), name="reservation-sessions"
    ),
    path("join/<str:token>/check-in/", api.CheckInApi.as_view(), name="join-check-in"),
    path("join/<str:token>/cant-make-it/", api.CantMakeItApi.as_view(), name="join-cant-make-it"),
    path("sessions/<int:pk>/attendance/", api.SessionAttendanceApi.as_view(), name="session-attendance"),
]
