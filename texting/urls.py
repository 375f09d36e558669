from django.urls import path

from texting import views

app_name = "texting"

urlpatterns = [
    path("account/texts/", views.texts, name="texts"),
    path("webhooks/twilio/messages/", views.inbound, name="inbound"),
    path("webhooks/twilio/status/", views.status, name="status"),
]
