from django.conf import settings
from django.http import HttpRequest


def site(request: HttpRequest) -> dict[str, object]:
    """Give every template the site URL, the contact address and the refund policy's hours."""
    return {
        "SITE_URL": settings.SITE_URL,
        "contact_email": settings.CONTACT_EMAIL,
        "refund_hours": settings.REFUND_FULL_BEFORE_HOURS,
    }
