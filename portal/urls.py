from django.urls import path

from portal import views

app_name = "portal"

urlpatterns = [
    path("my/", views.my_groups, name="my_groups"),
]
