from django.urls import path

from enrollment import join_views, survey_views, views

app_name = "enrollment"

urlpatterns = [
    path("groups/<slug:slug>/reserve/", views.reserve, name="reserve"),
    path("groups/<slug:slug>/waitlist/", views.waitlist_join_view, name="waitlist_join"),
    path("reservations/<int:pk>/", views.reservation_detail, name="reservation"),
    path("reservations/<int:pk>/cancel/", views.cancel, name="cancel"),
    path("reservations/<int:pk>/calendar.ics", views.calendar_file, name="calendar"),
    path("waitlist/<int:pk>/leave/", views.waitlist_leave_view, name="waitlist_leave"),
    path("waitlist/<int:pk>/accept/", views.offer_accept, name="offer_accept"),
    path("waitlist/<int:pk>/decline/", views.offer_decline, name="offer_decline"),
    path("my/", views.my_groups, name="my_groups"),
    path("join/<str:token>/", join_views.join, name="join"),
    path("join/<str:token>/cant-make-it/", join_views.join_excuse, name="join_excuse"),
    path("questions/<str:token>/", survey_views.survey, name="survey"),
    path("questions/<str:token>/support/", survey_views.survey_support, name="survey_support"),
    path("questions/<str:token>/results/", survey_views.survey_results, name="survey_results"),
    path("agreement/", views.agreement, name="agreement"),
    path("agreement/v<int:version>/", views.agreement, name="agreement_version"),
    path("account/profile/", views.profile, name="profile"),
    path("account/tokens/<str:token_id>/revoke/", views.token_revoke, name="token_revoke"),
]
