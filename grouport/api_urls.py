from csp.decorators import csp_update
from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from enrollment import api as enrollment_api
from enrollment import join_api, survey_api
from grouport import api as account_api
from groups import api as groups_api

app_name = "api"

urlpatterns = [
    path("groups/", groups_api.GroupListApi.as_view(), name="group-list"),
    path("groups/<int:pk>/", groups_api.GroupDetailApi.as_view(), name="group-detail"),
    path("eligibility/", groups_api.EligibilityApi.as_view(), name="eligibility"),
    path("auth/token/", account_api.TokenApi.as_view(), name="token"),
    path("auth/tokens/", account_api.TokenListApi.as_view(), name="token-list"),
    path("auth/tokens/<str:token_id>/", account_api.TokenRevokeApi.as_view(), name="token-revoke"),
    path("auth/logout/", account_api.LogoutApi.as_view(), name="logout"),
    path("me/", account_api.MeApi.as_view(), name="me"),
    path(
        "groups/<int:pk>/reservations/",
        enrollment_api.GroupReservationCreateApi.as_view(),
        name="group-reservations",
    ),
    path("groups/<int:pk>/waitlist/", enrollment_api.GroupWaitlistApi.as_view(), name="group-waitlist"),
    path("reservations/", enrollment_api.ReservationListApi.as_view(), name="reservation-list"),
    path("reservations/<int:pk>/", enrollment_api.ReservationDetailApi.as_view(), name="reservation-detail"),
    path(
        "reservations/<int:pk>/cancel/",
        enrollment_api.ReservationCancelApi.as_view(),
        name="reservation-cancel",
    ),
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
    path("waitlist/", enrollment_api.WaitlistListApi.as_view(), name="waitlist-list"),
    path(
        "waitlist/<int:pk>/accept/", enrollment_api.WaitlistOfferAcceptApi.as_view(), name="waitlist-accept"
    ),
    path(
        "waitlist/<int:pk>/decline/",
        enrollment_api.WaitlistOfferDeclineApi.as_view(),
        name="waitlist-decline",
    ),
    path("schema/", SpectacularAPIView.as_view(permission_classes=[]), name="schema"),
    path(
        "docs/",
        # The split view serves its start-up script as a file: no inline script. Swagger UI
        # still injects its own <style> elements, so this one developer page (no member data)
        # allows inline style; scripts stay 'self' only.
        csp_update({"style-src": ["'unsafe-inline'"]})(
            SpectacularSwaggerSplitView.as_view(url_name="api:schema", permission_classes=[])
        ),
        name="docs",
    ),
]
