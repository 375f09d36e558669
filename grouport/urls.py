"""The account's own pages (allauth's are under /accounts/)."""

from django.urls import path

from grouport import views

app_name = "grouport"

urlpatterns = [
    path("account/profile/", views.profile, name="profile"),
    path("account/tokens/<str:token_id>/revoke/", views.token_revoke, name="token_revoke"),
]
