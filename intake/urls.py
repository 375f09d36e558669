from django.urls import path

from intake import views

app_name = "intake"

urlpatterns = [
    path("account/intake/", views.intake_edit, name="intake"),
    path("account/consent/", views.consent, name="consent"),
]
