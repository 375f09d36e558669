from django.urls import path

from attendance import views

app_name = "attendance"

urlpatterns = [
    path("join/<str:token>/", views.join, name="join"),
    path("join/<str:token>/cant-make-it/", views.join_excuse, name="join_excuse"),
    path("join/<str:token>/room/", views.join_room, name="join_room"),
    path("video/stand-in/<str:room_key>/", views.video_stand_in, name="video_stand_in"),
    path("reservations/<int:pk>/calendar.ics", views.calendar_file, name="calendar"),
]
