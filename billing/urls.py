from django.urls import path

from billing import views

app_name = "billing"

urlpatterns = [
    path("reservations/<int:pk>/pay/", views.pay, name="pay"),
    path("billing/stripe/webhook/", views.stripe_webhook, name="stripe_webhook"),
]
