"""Screening answers that need a clinician raise one roster flag, for the member's own
therapist only; a new consent version is asked before the next seat and the next check-in."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.test import Client

from grouport.models import AuditEntry
from grouport.roles import STAFF, THERAPIST, role_grant
from intake.models import ConsentVersion, ScreeningFlag, ScreeningQuestion
from intake.services import IntakeData, intake_save, screening_flag_open, screening_flag_review
from tests.enrollment.test_api import api_for, reserve
from tests.factories import (
    GroupFactory,
    UserFactory,
    calm_answers,
    licensed_therapist,
    member,
    seated,
    sign_in,
)

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]


def hospital_question() -> ScreeningQuestion:
    return ScreeningQuestion.objects.get(position=20)  # flags "yes"


def answer_yes_to_hospital(who):
    intake = who.intake
    data = IntakeData(**{f: getattr(intake, f) for f in ("birth_date", *intake.THERAPY_FIELDS)})
    intake_save(member=who, data=data, answers={**calm_answers(), hospital_question().pk: "yes"})


def test_an_answer_that_needs_a_clinician_raises_one_flag_seen_by_the_members_therapist_only():
    mine, other = licensed_therapist("NY"), licensed_therapist("NY")
    for t in (mine, other):
        role_grant(t.user, THERAPIST)
    group = GroupFactory(title="Alpha", therapist=mine, price=Decimal("0"))
    GroupFactory(title="Bravo", therapist=other, price=Decimal("0"))
    ana = member(first_name="Ana", last_name="Flagged")
    seated(group, ana, at=None)
    answer_yes_to_hospital(ana)
    answer_yes_to_hospital(ana)  # the same answer again: still one flag
    assert ScreeningFlag.objects.filter(member=ana, status="open").count() == 1
    assert AuditEntry.objects.filter(action="screening_flag.opened").count() == 1
    flag = ScreeningFlag.objects.get(member=ana)

    theirs = Client()
    sign_in(theirs, mine.user)
    roster = theirs.get(f"/admin/groups/group/{group.pk}/roster/").content.decode()
    assert "⚑ screening" in roster and "mental health?: <strong>yes</strong>" in roster
    assert theirs.get(f"/admin/intake/screeningflag/{flag.pk}/change/").status_code == 200

    outsider = Client()
    sign_in(outsider, other.user)
    assert outsider.get(f"/admin/intake/screeningflag/{flag.pk}/change/").status_code == 404
    assert "Member #" not in outsider.get("/admin/intake/screeningflag/").content.decode()

    # Reviewed with a note (audited), the flag leaves the roster.
    done = theirs.post(
        f"/admin/intake/screeningflag/{flag.pk}/change/", {"review_note": "Called her; she is safe."}
    )
    assert done.status_code == 302
    flag.refresh_from_db()
    assert flag.status == "reviewed" and flag.reviewed_by == mine.user
    assert AuditEntry.objects.filter(action="screening_flag.reviewed", actor=mine.user).exists()
    assert "⚑ screening" not in theirs.get(f"/admin/groups/group/{group.pk}/roster/").content.decode()


def test_a_flagged_member_is_held_for_review_even_where_the_group_does_not_ask_it():
    group = GroupFactory(price=Decimal("150"), therapist=licensed_therapist("NY"))
    ana = member()
    answer_yes_to_hospital(ana)
    assert screening_flag_open(ana)
    answer = reserve(api_for(ana), group)
    assert answer.status_code == 201 and answer.json()["status"] == "review"


def test_a_new_consent_version_is_asked_before_the_next_seat_and_at_the_next_check_in(
    django_capture_on_commit_callbacks,
):
    from attendance.join import join_path

    with time_machine.travel(dt.datetime(2026, 1, 1, tzinfo=dt.UTC), tick=False):
        group = GroupFactory(
            therapist=licensed_therapist("NY"),
            starts_on=dt.date(2026, 3, 3),
            weekday=1,
            price=Decimal("0"),
            capacity=5,
        )
        other = GroupFactory(
            therapist=group.therapist, starts_on=dt.date(2026, 3, 3), weekday=1, price=Decimal("0")
        )
    ana = member()
    seat = seated(group, ana, at=dt.datetime(2026, 1, 2, tzinfo=dt.UTC))
    # Published in the admin: once it commits, the cached version is forgotten.
    with django_capture_on_commit_callbacks(execute=True):
        ConsentVersion.objects.create(
            version=2,
            body="New words.",
            body_es="Palabras nuevas.",
            published_at=dt.datetime(2026, 2, 1, tzinfo=dt.UTC),
        )
    session = group.sessions.get(number=1)
    with time_machine.travel(session.starts_at - dt.timedelta(minutes=5), tick=False):
        refused = reserve(api_for(ana), other)
        assert (refused.status_code, refused.json()["code"], refused.json()["version"]) == (
            400,
            "consent_required",
            2,
        )
        client = Client()
        client.force_login(ana)
        link = join_path(reservation_id=seat.pk, session_id=session.pk)
        asked = client.post(link, {"state": "NY", "at_usual_address": "yes"})
        assert asked.status_code == 302 and asked["Location"] == f"/account/consent/?next={link}"
        assert not session.check_ins.exists()
        page = client.get(asked["Location"]).content.decode()
        assert "The consent has changed since you signed it" in page and "New words." in page
        client.post(asked["Location"], {"signed_name": "Ana Member", "version": 2, "agree": "on"})
        assert client.post(link, {"state": "NY", "at_usual_address": "yes"}).status_code == 302
        assert session.check_ins.get().admitted


def test_staff_write_screening_questions_in_both_languages_and_rewording_asks_again():
    ops = UserFactory(email="ops@example.test")
    role_grant(ops, STAFF)
    client = Client()
    sign_in(client, ops)
    question = hospital_question()
    ana = member()
    form = {
        "position": 20,
        "text": "In the last year, have you stayed in a hospital for your mental health?",
        "text_es": "En el último año, ¿ha estado hospitalizado/a por su salud mental?",
        "kind": "yes_no",
        "choices": "",
        "choices_es": "",
        "flags_on": "yes",
        "active": "on",
    }
    assert client.post(f"/admin/intake/screeningquestion/{question.pk}/change/", form).status_code == 302
    question.refresh_from_db()
    assert question.changed_at is not None
    from intake.selectors import intake_gaps

    assert intake_gaps(member=ana, therapy=True).missing == ["screening"]
    spanish = Client(HTTP_ACCEPT_LANGUAGE="es")
    spanish.force_login(ana)
    assert "En el último año" in spanish.get("/account/intake/").content.decode()


def test_the_consent_is_read_once_then_cached_until_a_version_is_saved(
    django_assert_num_queries, django_capture_on_commit_callbacks
):
    from intake.selectors import consent_current

    first = consent_current()
    with django_assert_num_queries(0):
        assert consent_current().pk == first.pk
    with django_capture_on_commit_callbacks(execute=True):
        ConsentVersion.objects.create(version=first.version + 1, body="b", body_es="b")
    assert consent_current().version == first.version + 1


def test_a_consent_published_while_the_member_read_the_page_is_not_signed_unseen(
    django_capture_on_commit_callbacks,
):
    ana = member(intake=False)
    client = Client()
    client.force_login(ana)
    assert 'value="1"' in client.get("/account/consent/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        ConsentVersion.objects.create(version=2, body="Newer words.", body_es="Palabras más nuevas.")
    answer = client.post("/account/consent/", {"signed_name": "Ana Member", "version": 1, "agree": "on"})
    page = answer.content.decode()
    assert answer.status_code == 400 and "The consent was just updated" in page
    assert "Newer words." in page and 'name="version" value="2"' in page
    assert not ana.consents.exists()


def test_a_flag_tells_the_care_team_at_once_naming_no_one(settings, django_capture_on_commit_callbacks):
    from django.core import mail

    settings.CARE_TEAM_EMAIL = "care@clinic.test"
    ana = member(first_name="Ana", last_name="Flagged")
    with django_capture_on_commit_callbacks(execute=True):
        answer_yes_to_hospital(ana)
    [alert] = [m for m in mail.outbox if m.to == ["care@clinic.test"]]
    assert alert.subject == "An intake needs a clinician's eyes"
    assert "Flagged" not in alert.body and ana.email not in alert.body and "hospital" not in alert.body


def test_a_skills_groups_roster_shows_no_therapy_intake():
    skills_therapist = licensed_therapist("NY")
    role_grant(skills_therapist.user, THERAPIST)
    skills = GroupFactory(kind="skills", therapist=skills_therapist, price=Decimal("0"))
    ana = member()
    seated(skills, ana, at=None)
    answer_yes_to_hospital(ana)
    client = Client()
    sign_in(client, skills_therapist.user)
    roster = client.get(f"/admin/groups/group/{skills.pk}/roster/").content.decode()
    assert "555-0100" not in roster and "1 Main St" not in roster and "⚑ screening" not in roster
    flag = ScreeningFlag.objects.get(member=ana)
    assert client.get(f"/admin/intake/screeningflag/{flag.pk}/change/").status_code == 404


def test_staff_set_a_groups_ages_and_intake_review_in_the_admin():
    ops = UserFactory(email="ops@example.test")
    role_grant(ops, STAFF)
    group = GroupFactory(therapist=licensed_therapist("NY"))
    client = Client()
    sign_in(client, ops)
    page = client.get(f"/admin/groups/group/{group.pk}/change/").content.decode()
    assert 'name="min_age"' in page and 'name="max_age"' in page and 'name="requires_review"' in page


def test_a_therapist_decides_whether_to_review_intakes_but_staff_own_a_groups_ages():
    therapist = licensed_therapist("NY")
    role_grant(therapist.user, THERAPIST)
    group = GroupFactory(therapist=therapist)
    client = Client()
    sign_in(client, therapist.user)
    page = client.get(f"/admin/groups/group/{group.pk}/change/").content.decode()
    assert 'name="requires_review"' in page and 'name="min_age"' not in page
    client.post(
        f"/admin/groups/group/{group.pk}/change/",
        {"description": "Weekly DBT group.", "video_url": group.video_url, "requires_review": "on",
         "min_age": "12", "modules": ["mindfulness"],
         "sessions-TOTAL_FORMS": "0", "sessions-INITIAL_FORMS": "0"},
    )  # fmt: skip
    group.refresh_from_db()
    assert group.requires_review and group.min_age == 18


def test_a_flag_reviewed_before_its_alert_goes_out_sends_nothing(
    settings, django_capture_on_commit_callbacks
):
    from django.core import mail

    from grouport.models import OutboxMessage
    from grouport.outbox import outbox_deliver

    settings.CARE_TEAM_EMAIL = "care@clinic.test"
    ana = member()
    answer_yes_to_hospital(ana)  # its alert is recorded; the commit that would send it never came
    flag = ScreeningFlag.objects.get(member=ana)
    screening_flag_review(alert=flag, actor=UserFactory(), note="Called her first.")
    message = OutboxMessage.objects.get(kind="intake.screening_alert")
    assert outbox_deliver(message_id=message.pk) == "done"
    assert not [m for m in mail.outbox if m.to == ["care@clinic.test"]]
