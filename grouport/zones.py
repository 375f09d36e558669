"""The one time zone a page shows its times in, for members and for staff alike."""

from urllib.parse import unquote

from django.conf import settings
from django.http import HttpRequest

from grouport.states import FALLBACK_TIME_ZONE, default_time_zone, is_valid_time_zone

# The visitor's own zone, read by a small script on the page (pages work without it).
BROWSER_ZONE_COOKIE = "tz"


def viewer_zone(request: HttpRequest, *, tz: str | None = None, state: str | None = None) -> tuple[str, str]:
    """Return the one zone a page shows times in, and where it came from.

    Chosen on the page ("choice"); else a member's own ("profile"); else the browser's, which
    the page's script tells us ("browser"); else the usual zone of the state asked about, or of
    the member's state, or the fallback ("guess": the page's script may show it again in the
    browser's zone).
    """
    if tz and is_valid_time_zone(tz):
        return tz, "choice"
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and user.time_zone and is_valid_time_zone(user.time_zone):
        return user.time_zone, "profile"
    browser = unquote(request.COOKIES.get(BROWSER_ZONE_COOKIE, ""))
    if browser and is_valid_time_zone(browser):
        return browser, "browser"
    if state:
        return default_time_zone(state), "guess"
    if user is not None and user.is_authenticated and user.state:
        return default_time_zone(user.state), "guess"
    return getattr(settings, "FALLBACK_TIME_ZONE", FALLBACK_TIME_ZONE), "guess"
