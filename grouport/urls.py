"""The URL wiring: like the Celery app, it may import every layer (import-linter allows it)."""

from django.contrib import admin
from django.urls import include, path

from grouport import views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("grouport.api_urls")),
    path("reports/", include("reports.urls")),
    path("accounts/", include("allauth.urls")),
    path("", include("billing.urls")),
    path("", include("enrollment.urls")),
    path("", include("groups.urls")),
]

handler404 = views.page_not_found
handler500 = views.server_error
