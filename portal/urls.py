from django.urls import path

from portal import views

app_name = "portal"

urlpatterns = [
    path("my/", views.my_groups, name="my_groups"),
    path("my/superbills/<int:reservation_id>/", views.superbill, name="superbill"),
    path("my/superbills/<int:reservation_id>.pdf", views.superbill_pdf_file, name="superbill_pdf"),
]
