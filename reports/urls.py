from django.urls import path

from reports import views

urlpatterns = [
    path("", views.reports, name="reports"),
    path("outcomes/", views.outcomes, name="reports_outcomes"),
    path("<slug:key>.csv", views.report_csv, name="reports_csv"),
]
