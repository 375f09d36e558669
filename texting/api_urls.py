"""Texting's API routes (the member's own), under /api/ (config/api_urls.py)."""

from django.urls import path

from texting import api

urlpatterns = [
    path("me/texts/", api.TextsApi.as_view(), name="texts"),
]
