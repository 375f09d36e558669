"""Who may join which group, and from where: pure functions, no database.

A member living in state S may join a therapy group if and only if S is a service state
and the group's therapist holds a license for S that lasts until the group's last
session. Telehealth follows where the member *is*: during each session they must be in a
service state where the therapist's license is valid that day (``session_location_decision``).
Skills groups are educational, not therapy, and are open to everyone, from anywhere.
"""

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from django.utils.functional import Promise
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from grouport.states import OUTSIDE_US, is_valid_state, service_state_names_lazy


class Reason(StrEnum):
    INVALID_STATE = "invalid_state"
    OUTSIDE_US = "outside_us"
    NOT_SERVICE_STATE = "not_service_state"
    THERAPIST_NOT_LICENSED = "therapist_not_licensed_in_state"
    LICENSE_EXPIRES = "license_expires_before_group_ends"
    NO_THERAPY_GROUP = "no_open_therapy_group_in_state"
    NOT_LICENSED_WHERE_YOU_ARE = "therapist_not_licensed_where_you_are"


REASON_TEXT: dict[Reason, Promise] = {
    Reason.INVALID_STATE: _("That is not a state we know."),
    Reason.OUTSIDE_US: format_lazy(
        _("Therapy groups are open only to people living in the states we serve: {states}."),
        states=service_state_names_lazy(),
    ),
    Reason.NOT_SERVICE_STATE: format_lazy(
        _("Because of therapist licensing, our therapy groups are open only to residents of {states}."),
        states=service_state_names_lazy(),
    ),
    Reason.THERAPIST_NOT_LICENSED: _("This group's therapist is not licensed in your state."),
    Reason.LICENSE_EXPIRES: _("This group's therapist is not licensed in your state for the whole program."),
    Reason.NO_THERAPY_GROUP: _(
        "No therapy group with open enrollment is available for your state right now."
    ),
    Reason.NOT_LICENSED_WHERE_YOU_ARE: _(
        "Your therapist is not licensed in the state you are in right now, so the law does not "
        "let them meet with you there."
    ),
}


@dataclass(frozen=True)
class LicenseFact:
    state: str
    expires_on: dt.date


@dataclass(frozen=True)
class Decision:
    eligible: bool
    reasons: tuple[Reason, ...] = ()

    @property
    def reason_codes(self) -> list[str]:
        return [str(reason) for reason in self.reasons]


ELIGIBLE = Decision(eligible=True)


def state_decision(*, state: str, service_states: Iterable[str]) -> Decision:
    """Decide whether someone living in ``state`` may be treated in any therapy group."""
    if not is_valid_state(state):
        return Decision(False, (Reason.INVALID_STATE,))
    if state == OUTSIDE_US:
        return Decision(False, (Reason.OUTSIDE_US,))
    if state not in set(service_states):
        return Decision(False, (Reason.NOT_SERVICE_STATE,))
    return ELIGIBLE


def licensed_states(
    *, licenses: Iterable[LicenseFact], last_session_on: dt.date, service_states: Iterable[str]
) -> list[str]:
    """Return the service states a therapy group is open to, given its therapist's licenses."""
    allowed = set(service_states)
    return sorted(
        {lic.state for lic in licenses if lic.state in allowed and lic.expires_on >= last_session_on}
    )


def therapy_group_decision(
    *,
    state: str,
    licenses: Iterable[LicenseFact],
    last_session_on: dt.date,
    service_states: Iterable[str],
) -> Decision:
    """Decide whether someone living in ``state`` may join one therapy group."""
    service_states = tuple(service_states)
    by_state = state_decision(state=state, service_states=service_states)
    if not by_state.eligible:
        return by_state
    in_state = [lic for lic in licenses if lic.state == state]
    if not in_state:
        return Decision(False, (Reason.THERAPIST_NOT_LICENSED,))
    if all(lic.expires_on < last_session_on for lic in in_state):
        return Decision(False, (Reason.LICENSE_EXPIRES,))
    return ELIGIBLE


def group_decision(
    *,
    state: str,
    kind: str,
    licenses: Iterable[LicenseFact],
    last_session_on: dt.date,
    service_states: Iterable[str],
) -> Decision:
    """Decide whether someone living in ``state`` may join a group of ``kind``."""
    if kind == "skills":
        if not is_valid_state(state):
            return Decision(False, (Reason.INVALID_STATE,))
        return ELIGIBLE
    return therapy_group_decision(
        state=state, licenses=licenses, last_session_on=last_session_on, service_states=service_states
    )


def session_location_decision(
    *,
    state: str,
    kind: str,
    licenses: Iterable[LicenseFact],
    session_on: dt.date,
    service_states: Iterable[str],
) -> Decision:
    """Decide whether someone who is in ``state`` right now may join one session of a group.

    Therapy: a service state where the therapist's license is valid on the session's day.
    Skills groups: anywhere.
    """
    if kind == "skills":
        return ELIGIBLE
    decision = therapy_group_decision(
        state=state, licenses=licenses, last_session_on=session_on, service_states=service_states
    )
    if decision.eligible or Reason.INVALID_STATE in decision.reasons:
        return decision
    return Decision(False, (Reason.NOT_LICENSED_WHERE_YOU_ARE,))


def age_on(*, birth_date: dt.date, day: dt.date) -> int:
    """Whole years someone born on ``birth_date`` has on ``day`` (a 29 February birthday
    comes on 1 March in other years)."""
    years = day.year - birth_date.year
    if (day.month, day.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


def age_fits(*, age: int, min_age: int, max_age: int | None) -> bool:
    """Whether ``age`` is in a group's range (``max_age`` None: no upper limit)."""
    return age >= min_age and (max_age is None or age <= max_age)


def age_day(*, first_session_on: dt.date, today: dt.date) -> dt.date:
    """The day a member's age is counted on for a group: its first session, or today once
    it has begun (someone turning 18 before the first session may join an adult group)."""
    return max(first_session_on, today)
