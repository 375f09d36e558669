"""The URL wiring, above every app: each app contributes its own URL conf."""

from django.contrib import admin
from django.urls import include, path, re_path

from grouport import views

urlpatterns = [
    # One sign-in for everyone: the admin's own login and logout hand over to allauth's, so
    # its limits, lockouts and second factor apply to staff and therapists too.
    path("admin/login/", views.admin_login, name="admin_login_redirect"),
    path("admin/logout/", views.admin_logout, name="admin_logout_redirect"),
    # Pages of models that left enrollment for attendance and care keep their old addresses.
    re_path(
        rf"^admin/enrollment/(?P<model>{'|'.join(views.models_moved_from_enrollment())})/(?P<rest>.*)$",
        views.admin_page_moved,
        name="admin_page_moved",
    ),
    path("admin/", admin.site.urls),
    path("api/", include("config.api_urls")),
    path("reports/", include("reports.urls")),
    path("accounts/", include("allauth.urls")),
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("help/", views.crisis_help, name="crisis_help"),
    path("about/", views.page, {"name": "about"}, name="about"),
    path("privacy/", views.page, {"name": "privacy"}, name="privacy"),
    path("terms/", views.page, {"name": "terms"}, name="terms"),
    path("contact/", views.page, {"name": "contact"}, name="contact"),
    path("language/", views.language_set, name="language_set"),
    path("", include("billing.urls")),
    path("", include("grouport.urls")),
    path("", include("intake.urls")),
    path("", include("texting.urls")),
    path("", include("enrollment.urls")),
    path("", include("attendance.urls")),
    path("", include("care.urls")),
    path("", include("portal.urls")),
    path("", include("groups.urls")),
]

handler400 = views.bad_request
handler403 = views.permission_denied
handler404 = views.page_not_found
handler500 = views.server_error
