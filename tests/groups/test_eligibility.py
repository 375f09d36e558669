"""The licensing rule, as a table: state × therapist licenses × dates."""

import datetime as dt

import pytest

from groups.eligibility import (
    LicenseFact,
    Reason,
    group_decision,
    licensed_states,
    state_decision,
    therapy_group_decision,
)

SERVICE = ("FL", "NY", "NJ")
LAST_SESSION = dt.date(2027, 3, 30)
VALID = dt.date(2028, 1, 1)


def lic(*states: str, expires_on: dt.date = VALID) -> list[LicenseFact]:
    return [LicenseFact(state, expires_on) for state in states]


LICENSE_SETS = {
    "FL only": lic("FL"),
    "NY and NJ": lic("NY", "NJ"),
    "FL and NY": lic("FL", "NY"),
    "none": [],
}


@pytest.mark.sqlite
@pytest.mark.parametrize("state", ["FL", "NY", "NJ"])
@pytest.mark.parametrize("licenses_name", list(LICENSE_SETS))
def test_service_state_member_may_join_only_where_the_therapist_is_licensed(state, licenses_name):
    licenses = LICENSE_SETS[licenses_name]
    decision = therapy_group_decision(
        state=state, licenses=licenses, last_session_on=LAST_SESSION, service_states=SERVICE
    )
    licensed_here = any(fact.state == state for fact in licenses)
    assert decision.eligible is licensed_here
    assert decision.reasons == (() if licensed_here else (Reason.THERAPIST_NOT_LICENSED,))


@pytest.mark.sqlite
@pytest.mark.parametrize("state", ["CA", "TX", "PA", "CT"])
def test_member_outside_the_service_states_is_refused_even_if_the_therapist_is_licensed_there(state):
    decision = therapy_group_decision(
        state=state, licenses=lic(state, "NY"), last_session_on=LAST_SESSION, service_states=SERVICE
    )
    assert not decision.eligible
    assert decision.reasons == (Reason.NOT_SERVICE_STATE,)


@pytest.mark.sqlite
def test_member_outside_the_us_is_refused_with_its_own_reason():
    decision = therapy_group_decision(
        state="XX", licenses=lic("NY"), last_session_on=LAST_SESSION, service_states=SERVICE
    )
    assert decision.reasons == (Reason.OUTSIDE_US,)


@pytest.mark.sqlite
@pytest.mark.parametrize(
    ("expires_on", "eligible"),
    [
        (LAST_SESSION - dt.timedelta(days=1), False),  # lapses before the last session
        (LAST_SESSION, True),  # valid through the day of the last session
        (LAST_SESSION + dt.timedelta(days=1), True),
    ],
)
def test_license_must_last_until_the_groups_last_session(expires_on, eligible):
    decision = therapy_group_decision(
        state="NY",
        licenses=lic("NY", expires_on=expires_on),
        last_session_on=LAST_SESSION,
        service_states=SERVICE,
    )
    assert decision.eligible is eligible
    assert decision.reasons == (() if eligible else (Reason.LICENSE_EXPIRES,))


@pytest.mark.sqlite
def test_a_second_valid_license_in_the_state_outweighs_an_expired_one():
    licenses = [LicenseFact("NY", dt.date(2026, 1, 1)), LicenseFact("NY", VALID)]
    assert therapy_group_decision(
        state="NY", licenses=licenses, last_session_on=LAST_SESSION, service_states=SERVICE
    ).eligible


@pytest.mark.sqlite
@pytest.mark.parametrize("state", ["CA", "NY", "XX", "TX"])
def test_skills_groups_are_open_to_every_state(state):
    decision = group_decision(
        state=state, kind="skills", licenses=[], last_session_on=LAST_SESSION, service_states=SERVICE
    )
    assert decision.eligible


@pytest.mark.sqlite
@pytest.mark.parametrize("bad", ["ZZ", "", "ny ", "New York", "N"])
def test_unknown_state_codes_are_never_eligible(bad):
    for kind in ("therapy", "skills"):
        decision = group_decision(
            state=bad, kind=kind, licenses=lic("NY"), last_session_on=LAST_SESSION, service_states=SERVICE
        )
        assert decision.reasons == (Reason.INVALID_STATE,)


@pytest.mark.sqlite
def test_service_states_are_a_setting_not_a_constant():
    assert not state_decision(state="PA", service_states=SERVICE).eligible
    assert state_decision(state="PA", service_states=(*SERVICE, "PA")).eligible


@pytest.mark.sqlite
def test_licensed_states_lists_service_states_with_a_lasting_license():
    licenses = [*lic("NY", "CA"), LicenseFact("NJ", LAST_SESSION - dt.timedelta(days=1))]
    assert licensed_states(licenses=licenses, last_session_on=LAST_SESSION, service_states=SERVICE) == ["NY"]
