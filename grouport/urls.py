from django.contrib import admin
from django.urls import include, path

from enrollment import report_views
from grouport import views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("grouport.api_urls")),
    path("reports/", report_views.reports, name="reports"),
    path("reports/<slug:key>.csv", report_views.report_csv, name="reports_csv"),
    path("accounts/", include("allauth.urls")),
    path("", include("billing.urls")),
    path("", include("enrollment.urls")),
    path("", include("groups.urls")),
]

handler404 = views.page_not_found
handler500 = views.server_error
