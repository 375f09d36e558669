from django.urls import path

from reports import views

urlpatterns = [
    path("", views.reports, name="reports"),
    path("outcomes/", views.outcomes, name="reports_outcomes"),
    path("<slug:report>.csv", views.report_csv, name="reports_csv"),
]
