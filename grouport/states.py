"""US states, their usual time zones, and the code for members outside the US.

A state's time zone is only a default for a member's profile: several states span two
zones (Florida's panhandle is Central), so the member can always pick another.
"""

from django.conf import settings

OUTSIDE_US = "XX"

# code, name, default IANA time zone
_STATES: tuple[tuple[str, str, str], ...] = (
    ("AL", "Alabama", "America/Chicago"),
    ("AK", "Alaska", "America/Anchorage"),
    ("AZ", "Arizona", "America/Phoenix"),
    ("AR", "Arkansas", "America/Chicago"),
    ("CA", "California", "America/Los_Angeles"),
    ("CO", "Colorado", "America/Denver"),
    ("CT", "Connecticut", "America/New_York"),
    ("DE", "Delaware", "America/New_York"),
    ("DC", "District of Columbia", "America/New_York"),
    ("FL", "Florida", "America/New_York"),
    ("GA", "Georgia", "America/New_York"),
    ("HI", "Hawaii", "Pacific/Honolulu"),
    ("ID", "Idaho", "America/Boise"),
    ("IL", "Illinois", "America/Chicago"),
    ("IN", "Indiana", "America/Indiana/Indianapolis"),
    ("IA", "Iowa", "America/Chicago"),
    ("KS", "Kansas", "America/Chicago"),
    ("KY", "Kentucky", "America/New_York"),
    ("LA", "Louisiana", "America/Chicago"),
    ("ME", "Maine", "America/New_York"),
    ("MD", "Maryland", "America/New_York"),
    ("MA", "Massachusetts", "America/New_York"),
    ("MI", "Michigan", "America/Detroit"),
    ("MN", "Minnesota", "America/Chicago"),
    ("MS", "Mississippi", "America/Chicago"),
    ("MO", "Missouri", "America/Chicago"),
    ("MT", "Montana", "America/Denver"),
    ("NE", "Nebraska", "America/Chicago"),
    ("NV", "Nevada", "America/Los_Angeles"),
    ("NH", "New Hampshire", "America/New_York"),
    ("NJ", "New Jersey", "America/New_York"),
    ("NM", "New Mexico", "America/Denver"),
    ("NY", "New York", "America/New_York"),
    ("NC", "North Carolina", "America/New_York"),
    ("ND", "North Dakota", "America/Chicago"),
    ("OH", "Ohio", "America/New_York"),
    ("OK", "Oklahoma", "America/Chicago"),
    ("OR", "Oregon", "America/Los_Angeles"),
    ("PA", "Pennsylvania", "America/New_York"),
    ("RI", "Rhode Island", "America/New_York"),
    ("SC", "South Carolina", "America/New_York"),
    ("SD", "South Dakota", "America/Chicago"),
    ("TN", "Tennessee", "America/Chicago"),
    ("TX", "Texas", "America/Chicago"),
    ("UT", "Utah", "America/Denver"),
    ("VT", "Vermont", "America/New_York"),
    ("VA", "Virginia", "America/New_York"),
    ("WA", "Washington", "America/Los_Angeles"),
    ("WV", "West Virginia", "America/New_York"),
    ("WI", "Wisconsin", "America/Chicago"),
    ("WY", "Wyoming", "America/Denver"),
    ("PR", "Puerto Rico", "America/Puerto_Rico"),
)

STATE_CHOICES: list[tuple[str, str]] = [(code, name) for code, name, _ in _STATES] + [
    (OUTSIDE_US, "Outside the US"),
]
STATE_NAMES: dict[str, str] = dict(STATE_CHOICES)
DEFAULT_TIME_ZONE: dict[str, str] = {code: tz for code, _, tz in _STATES}

# Time zones a member may pick, and a group may be scheduled in.
TIME_ZONE_CHOICES: list[tuple[str, str]] = [
    ("America/New_York", "Eastern"),
    ("America/Chicago", "Central"),
    ("America/Denver", "Mountain"),
    ("America/Phoenix", "Arizona"),
    ("America/Los_Angeles", "Pacific"),
    ("America/Anchorage", "Alaska"),
    ("Pacific/Honolulu", "Hawaii"),
    ("America/Puerto_Rico", "Atlantic (Puerto Rico)"),
    ("America/Boise", "Mountain (Boise)"),
    ("America/Indiana/Indianapolis", "Eastern (Indiana)"),
    ("America/Detroit", "Eastern (Michigan)"),
    ("UTC", "UTC"),
]
TIME_ZONE_NAMES: dict[str, str] = dict(TIME_ZONE_CHOICES)
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


def default_time_zone(state: str | None) -> str:
    """Return the usual time zone for a member living in ``state``."""
    return DEFAULT_TIME_ZONE.get(state or "", FALLBACK_TIME_ZONE)
