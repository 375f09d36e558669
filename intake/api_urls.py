"""Intake's API routes (the member's own), under /api/ (config/api_urls.py)."""

from django.urls import path

from intake import api

urlpatterns = [
    path("me/intake/", api.IntakeApi.as_view(), name="intake"),
    path("me/consent/", api.ConsentApi.as_view(), name="consent"),
    path("screening-questions/", api.QuestionListApi.as_view(), name="screening-questions"),
]
