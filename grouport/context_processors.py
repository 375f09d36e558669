from django.conf import settings
from django.http import HttpRequest
from django.utils.functional import lazy

from grouport.states import service_state_names


def site(request: HttpRequest) -> dict[str, object]:
    """Give every template the site URL, the contact address, the refund policy's hours and
    the service states by name (read when a page says them, in its language)."""
    return {
        "SITE_URL": settings.SITE_URL,
        "contact_email": settings.CONTACT_EMAIL,
        "refund_hours": settings.REFUND_FULL_BEFORE_HOURS,
        "service_states_and": lazy(service_state_names, str)("and"),
        "service_states_or": lazy(service_state_names, str)("or"),
    }
