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

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from knox.models import AuthToken
from schemathesis import checks

from grouport.roles import STAFF, THERAPIST, role_grant
from grouport.wsgi import application
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
def token(role: str) -> str:
    """A token for someone in ``role``, with data for the API to show them (once per
    operation: Hypothesis then runs every example with it)."""
    therapist = licensed_therapist("NY")
    GroupFactory(therapist=therapist)
    if role == "member":
        user = member()
    elif role == "therapist":
        user = therapist.user
        role_grant(user, THERAPIST)
        second_factor(user)
    else:
        user = UserFactory()
        role_grant(user, STAFF)
        second_factor(user)
    _instance, token = AuthToken.objects.create(user=user)
    return token


@pytest.mark.parametrize("role", ["member", "therapist", "staff"])
@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,  # the same cases every run
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_api_answers_as_its_schema_says(case, role, token, requests_in_the_test_transaction):
    case.call_and_validate(headers={"Authorization": f"Token {token}"}, checks=CHECKS)
