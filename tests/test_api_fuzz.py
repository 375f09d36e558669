"""The whole API, fuzzed from its own OpenAPI schema (schemathesis, pinned): as a member, as a
therapist with a second factor, and as staff.

For every operation, Hypothesis makes requests that fit the schema and requests that do not
(wrong types, missing fields, odd strings), with a fixed seed and a bounded number of
examples so a run takes a few minutes and gives the same cases every time. Every answer must
be something other than a server error, and must be what the schema says the operation
answers: a documented status, content type and body (grouport/openapi.py documents the
errors every operation can give).

A new endpoint is fuzzed the day it is added: the schema lists it.
"""

import itertools

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from knox.models import AuthToken
from schemathesis import checks

from config.wsgi import application
from grouport.roles import STAFF, THERAPIST, role_grant
from tests.factories import GroupFactory, UserFactory, licensed_therapist, member, second_factor

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)

# What every answer must be (schemathesis's own checks).
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]
EXAMPLES = 25


@pytest.fixture
def requests_in_the_test_transaction():
    """Requests go through the WSGI app in this thread: Django must not close the test's
    connection at each request's start and end (its test client does the same)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def world(role: str) -> dict:
    """Someone in ``role`` with a token and data of their own for the API to find: half the
    examples name these (a seat, a waitlist entry, a session, join and questionnaire links)
    instead of ids that name nothing, so the code behind the 404 is fuzzed too."""
    from attendance.join import join_token
    from care.links import survey_token
    from care.models import OutcomeSurvey
    from enrollment.services.reservations import reservation_confirm, reservation_hold
    from enrollment.services.waitlist import waitlist_join
    from tests.factories import ALL_TRUE

    therapist = licensed_therapist("NY")
    role_grant(therapist.user, THERAPIST)
    group = GroupFactory(therapist=therapist, price=0)
    full = GroupFactory(therapist=therapist, price=0, capacity=1)
    somebody = member()
    reservation_confirm(
        reservation=reservation_hold(member=somebody, group=full, attestations=ALL_TRUE), actor=somebody
    )
    if role == "member":
        user = member()
        seat = reservation_confirm(
            reservation=reservation_hold(member=user, group=group, attestations=ALL_TRUE), actor=user
        )
        entry = waitlist_join(member=user, group=full)
    else:
        user = therapist.user if role == "therapist" else UserFactory()
        if role == "staff":
            role_grant(user, STAFF)
        second_factor(user)
        seat = reservation_confirm(
            reservation=reservation_hold(member=somebody, group=group, attestations=ALL_TRUE), actor=somebody
        )
        entry = waitlist_join(member=member(), group=full)
    session = group.sessions.order_by("number").first()
    survey = OutcomeSurvey.objects.create(
        reservation=seat, time_point="baseline", opens_at=session.starts_at, closes_at=session.ends_at
    )
    instance, token = AuthToken.objects.create(user=user)
    return {
        "token": token,
        "ids": {
            "groups": group.pk,
            "reservations": seat.pk,
            "waitlist": entry.pk,
            "sessions": session.pk,
            "join": join_token(reservation_id=seat.pk, session_id=session.pk),
            "questionnaires": survey_token(survey.pk),
            "tokens": instance.token_key,
        },
        "asked": itertools.count(),
    }


def _known(case, world: dict) -> None:
    """Every other example: the path's parameters name the person's own rows."""
    if not case.path_parameters or next(world["asked"]) % 2:
        return
    parts = case.path.strip("/").split("/")
    for name in list(case.path_parameters):
        at = parts.index("{" + name + "}")
        kind = parts[at - 1] if at else ""
        if kind in world["ids"]:
            case.path_parameters[name] = world["ids"][kind]


@pytest.mark.parametrize("role", ["member", "therapist", "staff"])
@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,  # the same cases every run
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_api_answers_as_its_schema_says(case, role, world, requests_in_the_test_transaction):
    _known(case, world)
    case.call_and_validate(headers={"Authorization": f"Token {world['token']}"}, checks=CHECKS)
