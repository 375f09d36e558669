"""The account's API routes (tokens, the member's profile), under /api/ (config/api_urls.py)."""

from django.urls import path

from grouport import api

urlpatterns = [
    path("auth/token/", api.TokenApi.as_view(), name="token"),
    path("auth/tokens/", api.TokenListApi.as_view(), name="token-list"),
    path("auth/tokens/<str:token_id>/", api.TokenRevokeApi.as_view(), name="token-revoke"),
    path("auth/logout/", api.LogoutApi.as_view(), name="logout"),
    path("me/", api.MeApi.as_view(), name="me"),
]
