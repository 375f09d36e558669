"""Admin pages of models that left enrollment (for attendance and care) keep their old
addresses: a safety alert's link in an email sent before the upgrade still opens it."""

import pytest

from grouport.views import models_moved_from_enrollment
from tests.factories import sign_in

pytestmark = pytest.mark.django_db


def test_every_moved_model_is_named_and_seats_own_pages_are_not_redirected(client, clinic):
    assert models_moved_from_enrollment() == {
        "reminder": "attendance",
        "attendance": "attendance",
        "checkin": "attendance",
        "sessionclosing": "attendance",
        "attendanceflag": "attendance",
        "measure": "care",
        "measureitem": "care",
        "outcomesurvey": "care",
        "measureresponse": "care",
        "safetyalert": "care",
    }
    sign_in(client, clinic["staff"])
    assert client.get("/admin/enrollment/reservation/").status_code == 200


def test_an_old_safety_alert_link_leads_to_the_same_alert_and_still_asks_who_you_are(client, clinic):
    old = "/admin/enrollment/safetyalert/7/change/?from=email"
    moved = client.get(old)
    assert moved.status_code == 301 and moved.url == "/admin/care/safetyalert/7/change/?from=email"
    assert client.get(moved.url).status_code == 302  # the admin page itself: sign in first
    sign_in(client, clinic["staff"])
    assert client.get("/admin/enrollment/reminder/").url == "/admin/attendance/reminder/"
    assert client.get("/admin/enrollment/nothing/").status_code == 404
