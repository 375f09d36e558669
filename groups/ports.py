"""What the catalog needs from the layer above it, as a port that layer fills in.

The catalog shows seats left, but what takes a seat (a confirmed reservation, a hold not
yet lapsed) is enrollment's rule, and enrollment sits above groups. So groups asks for a
"seats taken" expression here, and enrollment provides it when it starts
(``EnrollmentConfig.ready``). This module imports nothing above groups.
"""

import datetime as dt
from collections.abc import Callable

from django.core.exceptions import ImproperlyConfigured
from django.db.models import Expression

# now -> an expression counting the seats taken in the outer Group row (for annotate()).
SeatsTaken = Callable[[dt.datetime], Expression]

_seats_taken: SeatsTaken | None = None


def seats_taken_provide(expression: SeatsTaken) -> None:
    """Install the layer above's rule for counting a group's taken seats."""
    global _seats_taken
    _seats_taken = expression


def seats_taken_expression(now: dt.datetime) -> Expression:
    """Return an annotation counting the seats taken in each group at ``now``."""
    if _seats_taken is None:
        raise ImproperlyConfigured("No app provides the seats-taken rule (is enrollment installed?).")
    return _seats_taken(now)
