"""Billing's API routes, under /api/ (config/api_urls.py)."""

from django.urls import path

from billing import api

urlpatterns = [
    path("reservations/<int:pk>/price/", api.ReservationPriceApi.as_view(), name="reservation-price"),
]
