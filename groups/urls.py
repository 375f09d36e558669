from django.urls import path

from groups import views

app_name = "groups"

urlpatterns = [
    path("", views.catalog, name="catalog"),
    path("groups/<slug:slug>/", views.group_detail, name="detail"),
]
