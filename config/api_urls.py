"""/api/: each app's own API routes, and the schema. One namespace, ``api``."""

from csp.decorators import csp_update
from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from attendance import api_urls as attendance_api
from billing import api_urls as billing_api
from care import api_urls as care_api
from enrollment import api_urls as seats_api
from grouport import api_urls as account_api
from groups import api_urls as catalog_api
from intake import api_urls as intake_api
from texting import api_urls as texting_api

app_name = "api"

urlpatterns = [
    *catalog_api.urlpatterns,
    *account_api.urlpatterns,
    *intake_api.urlpatterns,
    *texting_api.urlpatterns,
    *seats_api.urlpatterns,
    *attendance_api.urlpatterns,
    *billing_api.urlpatterns,
    *care_api.urlpatterns,
    path("schema/", SpectacularAPIView.as_view(permission_classes=[]), name="schema"),
    path(
        "docs/",
        # The split view serves its start-up script as a file: no inline script. Swagger UI
        # still injects its own <style> elements, so this one developer page (no member data)
        # allows inline style; scripts stay 'self' only.
        csp_update({"style-src": ["'unsafe-inline'"]})(
            SpectacularSwaggerSplitView.as_view(url_name="api:schema", permission_classes=[])
        ),
        name="docs",
    ),
]
