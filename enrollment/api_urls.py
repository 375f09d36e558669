"""Seats' API routes (reservations, the waitlist), under /api/ (config/api_urls.py)."""

from django.urls import path

from enrollment import api

urlpatterns = [
    path("groups/<int:pk>/reservations/", api.GroupReservationCreateApi.as_view(), name="group-reservations"),
    path("groups/<int:pk>/waitlist/", api.GroupWaitlistApi.as_view(), name="group-waitlist"),
    path("reservations/", api.ReservationListApi.as_view(), name="reservation-list"),
    path("reservations/<int:pk>/", api.ReservationDetailApi.as_view(), name="reservation-detail"),
    path("reservations/<int:pk>/cancel/", api.ReservationCancelApi.as_view(), name="reservation-cancel"),
    path("waitlist/", api.WaitlistListApi.as_view(), name="waitlist-list"),
    path("reviews/", api.ReviewListApi.as_view(), name="review-list"),
    path("reviews/<int:pk>/", api.ReviewDecisionApi.as_view(), name="review-decision"),
    path("waitlist/<int:pk>/accept/", api.WaitlistOfferAcceptApi.as_view(), name="waitlist-accept"),
    path("waitlist/<int:pk>/decline/", api.WaitlistOfferDeclineApi.as_view(), name="waitlist-decline"),
]
