"""Template helpers shared by every page and email: times said the way each language says them."""

import datetime as dt

from django import template
from django.utils import dateformat, timezone
from django.utils.html import format_html
from django.utils.translation import get_language, gettext, ngettext

from grouport.states import names_joined, time_zone_name

register = template.Library()


@register.filter
def joined(names, word: str = "and") -> str:
    """``{{ states|joined:"or" }}``: "New Jersey or New York", in the page's language."""
    return names_joined(list(names), word)


# How a moment is written, per language: English "Tue Dec 2, 7:00 PM"; Spanish "mar 2 dic, 19:00".
FORMATS = {
    "en": {
        "short": "D M j, g:i A",
        "short_tz": "D M j, g:i A T",
        "long": "l, F j, g:i A T",
        "full": "D M j, Y, g:i A T",
        "day": "l, F j",
        "time": "g:i A",
        "time_tz": "g:i A T",
    },
    "es": {
        "short": "D j b, H:i",
        "short_tz": "D j b, H:i T",
        "long": r"l j \d\e F, H:i T",
        "full": "D j b Y, H:i T",
        "day": r"l j \d\e F",
        "time": "H:i",
        "time_tz": "H:i T",
    },
}


def _formats() -> dict[str, str]:
    return FORMATS.get((get_language() or "en")[:2], FORMATS["en"])


@register.filter(expects_localtime=True)
def when(value: dt.datetime | dt.date | dt.time | None, style: str = "short") -> str:
    """Format a moment, a day or a time (already in the page's zone) in the page's language:
    ``{{ session.starts_at|when:"long" }}``, ``{{ group.first_session_on|when:"day" }}``."""
    if value is None or value == "":
        return ""
    if isinstance(value, dt.time):
        return dateformat.time_format(value, _formats()[style])
    return dateformat.format(value, _formats()[style])


@register.filter
def zone_name(zone: str) -> str:
    """ "America/New_York" -> "Eastern"; a zone abroad by its city."""
    return time_zone_name(zone)


def time_left_text(until: dt.datetime, now: dt.datetime | None = None, zone: str | None = None) -> str:
    """ "23 h 59 min left (until tomorrow, 10:34 AM)": how long, and until when, in plain words."""
    now = now or timezone.now()
    seconds = max(0, int((until - now).total_seconds()))
    hours, minutes = divmod(seconds // 60, 60)
    if seconds <= 0:
        return gettext("time is up")
    if hours:
        left = gettext("%(hours)d h %(minutes)d min left") % {"hours": hours, "minutes": minutes}
    else:
        left = ngettext("%(minutes)d minute left", "%(minutes)d minutes left", minutes) % {"minutes": minutes}
    return _until(until, now, zone) % {"left": left}


def _until(until: dt.datetime, now: dt.datetime, zone: str | None) -> str:
    """The "%(left)s (until tomorrow, 10:34 AM)" pattern for ``until``, on the page's clock."""
    local = timezone.localtime(until, timezone.get_current_timezone() if zone is None else _zone(zone))
    today = timezone.localtime(now, local.tzinfo).date()
    at = dateformat.time_format(local, _formats()["time"])
    if local.date() == today:
        day = gettext("today, %(time)s") % {"time": at}
    elif local.date() == today + dt.timedelta(days=1):
        day = gettext("tomorrow, %(time)s") % {"time": at}
    else:
        day = dateformat.format(local, _formats()["short"])
    # %% keeps the "%(left)s" slot for the text, or for the page's script to fill in.
    return gettext("%(left)s (until %(day)s)").replace("%(day)s", day.replace("%", "%%"))


@register.simple_tag
def time_left(until: dt.datetime, now: dt.datetime | None = None, zone: str | None = None):
    """A countdown a page's script keeps ticking (the text is right without the script too)."""
    now = now or timezone.now()
    return format_html(
        '<span class="countdown" data-expires-at="{}" data-hm="{}" data-m1="{}" data-mn="{}" data-up="{}" '
        'data-until="{}">{}</span>',
        until.isoformat(),
        gettext("%(hours)d h %(minutes)d min left"),
        ngettext("%(minutes)d minute left", "%(minutes)d minutes left", 1),
        ngettext("%(minutes)d minute left", "%(minutes)d minutes left", 2),
        gettext("time is up"),
        _until(until, now, zone).replace("%%", "%"),
        time_left_text(until, now, zone),
    )


def _zone(zone: str):
    from zoneinfo import ZoneInfo

    return ZoneInfo(zone)
