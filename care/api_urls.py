"""Care's API routes (a member's questionnaires), under /api/ (config/api_urls.py)."""

from django.urls import path

from care import api

urlpatterns = [
    path("questionnaires/", api.SurveyListApi.as_view(), name="questionnaire-list"),
    path("questionnaires/<str:token>/", api.SurveyApi.as_view(), name="questionnaire"),
]
