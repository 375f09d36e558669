"""An alert a clinician closes by writing what was done (a safety answer, a member's move out of
the therapist's state): once reviewed, what was written stays as written.

The record of what a clinician did for a member at risk is clinical documentation: a later
save of the page (a second tab, a back button) must neither rewrite the note nor review the
alert a second time under someone else's name.
"""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from care.models import OutcomeSurvey, SafetyAlert
from care.services import survey_answer, surveys_schedule
from enrollment.models import ResidenceAlert
from grouport.models import AuditEntry, User
from grouport.roles import THERAPIST, role_grant
from grouport.services import member_profile_update
from tests.factories import GroupFactory, licensed_therapist, seated, sign_in

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]


def safety_alert() -> tuple[SafetyAlert, User]:
    """A member answered item 9 of the PHQ-9 above "not at all": (alert, group's therapist)."""
    with time_machine.travel(dt.datetime(2026, 1, 1, tzinfo=dt.UTC), tick=False):
        group = GroupFactory(
            therapist=licensed_therapist("NY"), starts_on=dt.date(2026, 3, 3), weekday=1, price=Decimal("0")
        )
    reservation = seated(group, at=dt.datetime(2026, 2, 1, 12, tzinfo=dt.UTC))
    with time_machine.travel(dt.datetime(2026, 2, 2, tzinfo=dt.UTC), tick=False):
        surveys_schedule()
        survey_answer(
            survey=OutcomeSurvey.objects.get(reservation=reservation),
            member=reservation.member,
            answers={"PHQ-9": {n: int(n == 9) for n in range(1, 10)}, "GAD-7": dict.fromkeys(range(1, 8), 0)},
        )
    return SafetyAlert.objects.get(), group.therapist.user


def residence_alert() -> tuple[ResidenceAlert, User]:
    """A member of a New York therapist's group now lives in California: (alert, therapist)."""
    group = GroupFactory(price=Decimal("320.00"), therapist=licensed_therapist("NY"))
    reservation = seated(group, state="NY")
    member_profile_update(member=reservation.member, data={"state": "CA"}, actor=reservation.member)
    return ResidenceAlert.objects.get(), group.therapist.user


@pytest.mark.parametrize(
    ("raise_alert", "page"),
    [
        (safety_alert, "/admin/care/safetyalert/{}/change/"),
        (residence_alert, "/admin/enrollment/residencealert/{}/change/"),
    ],
    ids=["safety", "residence"],
)
def test_a_reviewed_alerts_note_is_read_only_and_saving_it_again_reviews_nothing(client, raise_alert, page):
    alert, therapist = raise_alert()
    role_grant(therapist, THERAPIST)
    sign_in(client, therapist)
    url = page.format(alert.pk)
    assert "review_note" in client.get(url).context["adminform"].form.fields  # open: the note is asked for
    assert client.post(url, {"review_note": "Called them; we made a plan together."}).status_code == 302
    alert.refresh_from_db()
    assert alert.status == "reviewed"
    reviewed = (alert.review_note, alert.reviewed_by_id, alert.reviewed_at)
    audited = AuditEntry.objects.filter(action__endswith=".reviewed").count()

    shown = client.get(url)
    assert "review_note" not in shown.context["adminform"].form.fields  # shown, no longer a field
    assert "Called them; we made a plan together." in shown.content.decode()
    assert client.post(url, {"review_note": "Rewritten a week later."}).status_code == 302  # no error
    alert.refresh_from_db()
    assert (alert.review_note, alert.reviewed_by_id, alert.reviewed_at) == reviewed
    assert AuditEntry.objects.filter(action__endswith=".reviewed").count() == audited == 1
