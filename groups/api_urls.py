"""The catalog's API routes, under /api/ (config/api_urls.py)."""

from django.urls import path

from groups import api

urlpatterns = [
    path("groups/", api.GroupListApi.as_view(), name="group-list"),
    path("groups/<int:pk>/", api.GroupDetailApi.as_view(), name="group-detail"),
    path("eligibility/", api.EligibilityApi.as_view(), name="eligibility"),
]
