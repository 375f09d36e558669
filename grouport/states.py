"""US states, their usual time zones, and the code for members outside the US.

A state's time zone is only a default for a member's profile: several states span two
zones (Florida's panhandle is Central), so the member can always pick another.
"""

import functools
import zoneinfo

from django.conf import settings
from django.utils.functional import Promise, lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext

OUTSIDE_US = "XX"

# code, name, default IANA time zone
_STATES: tuple[tuple[str, Promise, str], ...] = (
    ("AL", _("Alabama"), "America/Chicago"),
    ("AK", _("Alaska"), "America/Anchorage"),
    ("AZ", _("Arizona"), "America/Phoenix"),
    ("AR", _("Arkansas"), "America/Chicago"),
    ("CA", _("California"), "America/Los_Angeles"),
    ("CO", _("Colorado"), "America/Denver"),
    ("CT", _("Connecticut"), "America/New_York"),
    ("DE", _("Delaware"), "America/New_York"),
    ("DC", _("District of Columbia"), "America/New_York"),
    ("FL", _("Florida"), "America/New_York"),
    ("GA", _("Georgia"), "America/New_York"),
    ("HI", _("Hawaii"), "Pacific/Honolulu"),
    ("ID", _("Idaho"), "America/Boise"),
    ("IL", _("Illinois"), "America/Chicago"),
    ("IN", _("Indiana"), "America/Indiana/Indianapolis"),
    ("IA", _("Iowa"), "America/Chicago"),
    ("KS", _("Kansas"), "America/Chicago"),
    ("KY", _("Kentucky"), "America/New_York"),
    ("LA", _("Louisiana"), "America/Chicago"),
    ("ME", _("Maine"), "America/New_York"),
    ("MD", _("Maryland"), "America/New_York"),
    ("MA", _("Massachusetts"), "America/New_York"),
    ("MI", _("Michigan"), "America/Detroit"),
    ("MN", _("Minnesota"), "America/Chicago"),
    ("MS", _("Mississippi"), "America/Chicago"),
    ("MO", _("Missouri"), "America/Chicago"),
    ("MT", _("Montana"), "America/Denver"),
    ("NE", _("Nebraska"), "America/Chicago"),
    ("NV", _("Nevada"), "America/Los_Angeles"),
    ("NH", _("New Hampshire"), "America/New_York"),
    ("NJ", _("New Jersey"), "America/New_York"),
    ("NM", _("New Mexico"), "America/Denver"),
    ("NY", _("New York"), "America/New_York"),
    ("NC", _("North Carolina"), "America/New_York"),
    ("ND", _("North Dakota"), "America/Chicago"),
    ("OH", _("Ohio"), "America/New_York"),
    ("OK", _("Oklahoma"), "America/Chicago"),
    ("OR", _("Oregon"), "America/Los_Angeles"),
    ("PA", _("Pennsylvania"), "America/New_York"),
    ("RI", _("Rhode Island"), "America/New_York"),
    ("SC", _("South Carolina"), "America/New_York"),
    ("SD", _("South Dakota"), "America/Chicago"),
    ("TN", _("Tennessee"), "America/Chicago"),
    ("TX", _("Texas"), "America/Chicago"),
    ("UT", _("Utah"), "America/Denver"),
    ("VT", _("Vermont"), "America/New_York"),
    ("VA", _("Virginia"), "America/New_York"),
    ("WA", _("Washington"), "America/Los_Angeles"),
    ("WV", _("West Virginia"), "America/New_York"),
    ("WI", _("Wisconsin"), "America/Chicago"),
    ("WY", _("Wyoming"), "America/Denver"),
    ("PR", _("Puerto Rico"), "America/Puerto_Rico"),
)

STATE_CHOICES: list[tuple[str, Promise]] = [(code, name) for code, name, _zone in _STATES] + [
    (OUTSIDE_US, _("Outside the US")),
]
STATE_NAMES: dict[str, Promise] = dict(STATE_CHOICES)
DEFAULT_TIME_ZONE: dict[str, str] = {code: tz for code, _name, tz in _STATES}

# The US zones a group may be scheduled in (and that head a member's list).
TIME_ZONE_CHOICES: list[tuple[str, Promise]] = [
    ("America/New_York", _("Eastern")),
    ("America/Chicago", _("Central")),
    ("America/Denver", _("Mountain")),
    ("America/Phoenix", _("Arizona")),
    ("America/Los_Angeles", _("Pacific")),
    ("America/Anchorage", _("Alaska")),
    ("Pacific/Honolulu", _("Hawaii")),
    ("America/Puerto_Rico", _("Atlantic (Puerto Rico)")),
    ("America/Boise", _("Mountain (Boise)")),
    ("America/Indiana/Indianapolis", _("Eastern (Indiana)")),
    ("America/Detroit", _("Eastern (Michigan)")),
    ("UTC", "UTC"),
]
TIME_ZONE_NAMES: dict[str, Promise] = dict(TIME_ZONE_CHOICES)


@functools.cache
def world_time_zones() -> tuple[str, ...]:
    """Every IANA zone a person may be in (the tz database's canonical names)."""
    return tuple(
        sorted(
            zone
            for zone in zoneinfo.available_timezones()
            if "/" in zone and not zone.startswith(("Etc/", "SystemV/", "US/", "posix/", "right/"))
        )
    )


def member_time_zone_choices() -> list[tuple[str, object]]:
    """The zones a member may pick: the US ones first, then every zone in the world."""
    us = [zone for zone, _label in TIME_ZONE_CHOICES]
    return [
        *TIME_ZONE_CHOICES,
        *((zone, zone.replace("_", " ")) for zone in world_time_zones() if zone not in us),
    ]


def is_valid_time_zone(zone: str) -> bool:
    return zone == "UTC" or zone in world_time_zones()


def time_zone_name(zone: str) -> str:
    """How a zone is named on a page: "Eastern" for the US zones, else its city: "Madrid" for
    Europe/Madrid, "Buenos Aires" for America/Argentina/Buenos_Aires, "UTC" for UTC."""
    if zone in TIME_ZONE_NAMES:
        return str(TIME_ZONE_NAMES[zone])
    return zone.rsplit("/", 1)[-1].replace("_", " ")


FALLBACK_TIME_ZONE = "America/New_York"

# States where a member must choose between two zones rather than take the default.
SPLIT_TIME_ZONE_STATES: dict[str, tuple[str, ...]] = {
    "FL": ("America/New_York", "America/Chicago"),
}


def is_valid_state(code: str) -> bool:
    """Return whether ``code`` is a known state code (or the outside-the-US code)."""
    return code in STATE_NAMES


def service_states() -> tuple[str, ...]:
    """Return the states where therapy groups may enroll members (a setting)."""
    return tuple(settings.SERVICE_STATES)


def names_joined(names: list, word: str = "and") -> str:
    """States by name as a sentence says them, in the active language: "Florida, New York
    and New Jersey" (``word="or"``: "... or New Jersey")."""
    names = [str(name) for name in names]
    if len(names) < 2:
        return "".join(names)
    if word == "or":
        last = pgettext("list of states", "%(most)s or %(last)s")
    else:
        last = pgettext("list of states", "%(most)s and %(last)s")
    return last % {"most": ", ".join(names[:-1]), "last": names[-1]}


def _names_joined(word: str) -> str:
    return names_joined([STATE_NAMES[code] for code in service_states() if code in STATE_NAMES], word)


def service_state_names(word: str = "and") -> str:
    """The service states by name, in the active language, as a page says them: "Florida,
    New York and New Jersey" (``word="or"``: "... or New Jersey"). From ``SERVICE_STATES``,
    so a clinic that adds a state is not described by the old list."""
    return _names_joined(word)


# For lazy strings built at import time (eligibility's reasons): read when shown.
service_state_names_lazy = lazy(service_state_names, str)


def default_time_zone(state: str | None) -> str:
    """Return the usual time zone for a member living in ``state``."""
    return DEFAULT_TIME_ZONE.get(state or "", FALLBACK_TIME_ZONE)
