from django.urls import path

from enrollment import join_api, survey_api

urlpatterns = [
    path(
        "reservations/<int:pk>/sessions/",
        join_api.ReservationSessionsApi.as_view(),
        name="reservation-sessions",
    ),
    path("join/<str:token>/check-in/", join_api.CheckInApi.as_view(), name="join-check-in"),
    path("join/<str:token>/cant-make-it/", join_api.CantMakeItApi.as_view(), name="join-cant-make-it"),
    path("sessions/<int:pk>/attendance/", join_api.SessionAttendanceApi.as_view(), name="session-attendance"),
    path("questionnaires/", survey_api.SurveyListApi.as_view(), name="questionnaire-list"),
    path("questionnaires/<str:token>/", survey_api.SurveyApi.as_view(), name="questionnaire"),
]
