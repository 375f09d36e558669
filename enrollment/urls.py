from django.urls import path

from enrollment import views

app_name = "enrollment"

urlpatterns = [
    path("groups/<slug:slug>/reserve/", views.reserve, name="reserve"),
    path("groups/<slug:slug>/waitlist/", views.waitlist_join_view, name="waitlist_join"),
    path("reservations/<int:pk>/", views.reservation_detail, name="reservation"),
    path("reservations/<int:pk>/cancel/", views.cancel, name="cancel"),
    path("waitlist/<int:pk>/leave/", views.waitlist_leave_view, name="waitlist_leave"),
    path("waitlist/<int:pk>/accept/", views.offer_accept, name="offer_accept"),
    path("waitlist/<int:pk>/decline/", views.offer_decline, name="offer_decline"),
    path("agreement/", views.agreement, name="agreement"),
    path("agreement/v<int:version>/", views.agreement, name="agreement_version"),
]
