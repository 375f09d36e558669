from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from groups import api as groups_api

app_name = "api"

urlpatterns = [
    path("groups/", groups_api.GroupListApi.as_view(), name="group-list"),
    path("groups/<int:pk>/", groups_api.GroupDetailApi.as_view(), name="group-detail"),
    path("eligibility/", groups_api.EligibilityApi.as_view(), name="eligibility"),
    path("schema/", SpectacularAPIView.as_view(permission_classes=[]), name="schema"),
    path(
        "docs/",
        SpectacularSwaggerView.as_view(url_name="api:schema", permission_classes=[]),
        name="docs",
    ),
]
