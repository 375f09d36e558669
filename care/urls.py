from django.urls import path

from care import views

app_name = "care"

urlpatterns = [
    path("questions/<str:token>/", views.survey, name="survey"),
    path("questions/<str:token>/support/", views.survey_support, name="survey_support"),
    path("questions/<str:token>/results/", views.survey_results, name="survey_results"),
    path("care/alerts/<int:alert_id>/", views.alert, name="alert"),
]
