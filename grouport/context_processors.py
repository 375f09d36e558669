from django.conf import settings
from django.http import HttpRequest


def site(request: HttpRequest) -> dict[str, object]:
    """Give every template the site URL."""
    return {"SITE_URL": settings.SITE_URL}
