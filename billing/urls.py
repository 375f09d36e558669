from django.urls import path

from billing import views

app_name = "billing"

urlpatterns = [
    path("reservations/<int:pk>/pay/", views.pay, name="pay"),
    path("reservations/<int:pk>/price/", views.price, name="price"),
    path("reservations/<int:pk>/assistance/", views.assistance, name="assistance"),
    path("billing/stripe/webhook/", views.stripe_webhook, name="stripe_webhook"),
    path("my/receipts/", views.receipts, name="receipts"),
    path("my/receipts/<str:kind>/<int:pk>/", views.receipt, name="receipt"),
    path("my/receipts/<str:kind>/<int:pk>.pdf", views.receipt_pdf_file, name="receipt_pdf"),
]
