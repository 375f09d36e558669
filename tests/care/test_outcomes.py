"""Measured outcomes: PHQ-9 and GAD-7 at the start, middle and end of each program, scored
by the published tables, with a safety net under item 9, a therapist's view and the clinic's
report."""

import datetime as dt
import re
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.test import Client
from rest_framework.test import APIClient

from care.links import survey_path, survey_token
from care.measures import InvalidAnswers, score
from care.models import Measure, OutcomeSurvey, SafetyAlert
from care.services import midpoint_week, safety_alert_review, survey_answer, surveys_expire, surveys_schedule
from grouport.models import AuditEntry, OutboxMessage, User
from grouport.outbox import outbox_deliver
from grouport.roles import STAFF, THERAPIST, role_grant
from reports.outcomes import report_outcomes
from reports.reports import ReportFilters
from tests.factories import GroupFactory, licensed_therapist, member, seated, sign_in

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]
CLINICAL = re.compile(r"dbt|therap|depress|anxi|suicid|self-harm|harm|crisis|mental|phq|gad|score", re.I)


def measure(code: str) -> Measure:
    return Measure.objects.get(code=code, version=1)


def answers_totalling(code: str, total: int, *, item9: int = 0) -> dict[int, int]:
    """Answers to ``code`` that add up to ``total`` (item 9 of PHQ-9 set to ``item9``)."""
    items = measure(code).items.count()
    values = {n: 0 for n in range(1, items + 1)}
    left = total
    if code == "PHQ-9":
        values[9] = item9
        left -= item9
    for n in range(1, items + 1):
        if code == "PHQ-9" and n == 9:
            continue
        values[n] = min(3, left)
        left -= values[n]
    assert left == 0
    return values


def scored(code: str, answers: dict[int, int]):
    m = measure(code)
    return score(
        items=m.items.count(), options=m.options, bands=m.bands, safety_item=m.safety_item, answers=answers
    )


# --- Scoring against the published tables


@pytest.mark.parametrize(
    "total, band",
    [(0, "Minimal"), (4, "Minimal"), (5, "Mild"), (9, "Mild"), (10, "Moderate"), (14, "Moderate"),
     (15, "Moderately severe"), (19, "Moderately severe"), (20, "Severe"), (27, "Severe")],
)  # fmt: skip
def test_phq9_totals_and_bands_at_every_boundary(total, band):
    result = scored("PHQ-9", answers_totalling("PHQ-9", total, item9=min(3, total // 9)))
    assert result.total == total and measure("PHQ-9").bands[result.band]["label"] == band


@pytest.mark.parametrize(
    "total, band",
    [(0, "Minimal"), (4, "Minimal"), (5, "Mild"), (9, "Mild"), (10, "Moderate"), (14, "Moderate"),
     (15, "Severe"), (21, "Severe")],
)  # fmt: skip
def test_gad7_totals_and_bands_at_every_boundary(total, band):
    result = scored("GAD-7", answers_totalling("GAD-7", total))
    assert result.total == total and measure("GAD-7").bands[result.band]["label"] == band
    assert result.safety is False


def test_the_published_wording_and_answers_are_kept_as_data_in_both_languages():
    phq = measure("PHQ-9")
    assert phq.items.count() == 9 and measure("GAD-7").items.count() == 7
    assert [o["label"] for o in phq.options] == [
        "Not at all",
        "Several days",
        "More than half the days",
        "Nearly every day",
    ]
    assert phq.options[0]["label_es"] == "Ningún día"
    nine = phq.items.get(number=9)
    assert nine.text == "Thoughts that you would be better off dead or of hurting yourself in some way"
    assert nine.text_es == "Pensamientos de que estaría mejor muerto(a) o de lastimarse de alguna manera"
    assert phq.safety_item == 9 and measure("GAD-7").safety_item is None
    assert phq.follow_up["text"].startswith("If you checked off any problems, how difficult")
    assert [o["label_es"] for o in phq.follow_up["options"]] == [
        "No ha sido difícil",
        "Un poco difícil",
        "Muy difícil",
        "Extremadamente difícil",
    ]
    assert measure("GAD-7").follow_up == {}


def test_the_measures_come_back_after_every_migrate_and_are_never_duplicated():
    """A flushed database (a test's, a restored dump) gets them again from post_migrate."""
    from django.core.management.sql import emit_post_migrate_signal

    Measure.objects.all().delete()
    emit_post_migrate_signal(verbosity=0, interactive=False, db="default")
    emit_post_migrate_signal(verbosity=0, interactive=False, db="default")
    assert sorted(Measure.objects.values_list("code", flat=True)) == ["GAD-7", "PHQ-9"]
    assert measure("PHQ-9").items.count() == 9


def test_migrating_back_past_the_split_does_not_install_the_measures():
    """Migrating backwards, post_migrate gets the app registry of the target state: one
    without care's models there, where the installer has nothing to install into."""
    from django.apps.registry import Apps
    from django.core.management.sql import emit_post_migrate_signal

    Measure.objects.all().delete()
    emit_post_migrate_signal(verbosity=0, interactive=False, db="default", apps=Apps(installed_apps=()))
    assert not Measure.objects.exists()


@pytest.mark.parametrize("item9, safety", [(0, False), (1, True), (2, True), (3, True)])
def test_any_answer_above_not_at_all_to_item_9_needs_a_person(item9, safety):
    assert scored("PHQ-9", answers_totalling("PHQ-9", 5, item9=item9)).safety is safety


@pytest.mark.parametrize(
    "answers",
    [
        {n: 0 for n in range(1, 9)},
        {**{n: 0 for n in range(1, 10)}, 3: 4},
        {**{n: 0 for n in range(1, 10)}, 10: 0},
    ],
)
def test_missing_or_unknown_answers_are_refused(answers):
    with pytest.raises(InvalidAnswers):
        scored("PHQ-9", answers)


# --- When: baseline, midpoint and end, once each


def make_group(weeks: int, starts_on=dt.date(2026, 3, 3)):
    with time_machine.travel(dt.datetime(2026, 1, 1, tzinfo=dt.UTC), tick=False):
        return GroupFactory(
            therapist=licensed_therapist("NY"), weeks=weeks, starts_on=starts_on, weekday=1,
            start_time=dt.time(19, 0), price=Decimal("0"),
        )  # fmt: skip


def seat(group, who=None):
    """Seated on 1 February, before the groups of this file begin."""
    return seated(group, who, at=dt.datetime(2026, 2, 1, 12, tzinfo=dt.UTC))


def run_job(at):
    with time_machine.travel(at, tick=False):
        surveys_expire()
        return surveys_schedule()


@pytest.mark.parametrize("weeks, middle", [(8, 4), (12, 6), (4, 2), (2, None), (1, None)])
def test_the_midpoint_is_computed_from_the_programs_length(weeks, middle):
    assert midpoint_week(weeks) == middle


@pytest.mark.parametrize("weeks, middle", [(8, 4), (12, 6)])
def test_baseline_midpoint_and_end_open_once_each_across_dst(weeks, middle):
    group = make_group(weeks)  # starts March 3, before the March 8 change to daylight time
    r = seat(group)
    sessions = {s.number: s for s in group.sessions.all()}
    assert len(run_job(dt.datetime(2026, 2, 1, 13, tzinfo=dt.UTC))) == 1  # baseline, at once
    assert run_job(dt.datetime(2026, 2, 1, 14, tzinfo=dt.UTC)) == []  # twice: once
    mid = sessions[middle].starts_at
    assert run_job(mid - dt.timedelta(minutes=1)) == []
    assert len(run_job(mid)) == 1 and run_job(mid + dt.timedelta(minutes=5)) == []
    assert mid.astimezone(dt.UTC).hour == 23  # 7 pm New York is 23:00 UTC in daylight time
    end = sessions[weeks].starts_at
    assert len(run_job(end)) == 1 and run_job(end) == []
    points = dict(OutcomeSurvey.objects.filter(reservation=r).values_list("time_point", "opens_at"))
    assert points == {"baseline": r.confirmed_at, "midpoint": mid, "end": end}
    invitations = OutboxMessage.objects.filter(kind="care.survey_invitation")
    assert invitations.count() == 3


def test_a_questionnaire_closes_after_its_days_and_counts_as_unanswered(settings):
    group = make_group(8)
    r = seat(group)
    run_job(dt.datetime(2026, 2, 1, 13, tzinfo=dt.UTC))
    survey = OutcomeSurvey.objects.get(reservation=r)
    run_job(survey.closes_at + dt.timedelta(minutes=1))
    survey.refresh_from_db()
    assert survey.status == "expired"
    with pytest.raises(Exception, match="closed"):
        survey_answer(survey=survey, member=r.member, answers={})


def test_the_invitation_links_to_the_members_own_questions_and_names_nothing_clinical():
    group = make_group(8)
    r = seat(group)
    run_job(dt.datetime(2026, 2, 1, 13, tzinfo=dt.UTC))
    for message in OutboxMessage.objects.filter(kind="care.survey_invitation"):
        outbox_deliver(message_id=message.pk)
    [email] = [m for m in mail.outbox if m.to == [r.member.email] and "questions" in m.subject]
    assert not CLINICAL.search(email.subject)
    survey = OutcomeSurvey.objects.get(reservation=r)
    assert survey_path(survey.pk) in email.body and email.body.startswith("Need help now?")


# --- Answering, and the safety net


def open_survey(weeks=8):
    group = make_group(weeks)
    r = seat(group)
    run_job(dt.datetime(2026, 2, 1, 13, tzinfo=dt.UTC))
    return group, r, OutcomeSurvey.objects.get(reservation=r)


def form_data(phq: dict[int, int], gad: dict[int, int]) -> dict[str, str]:
    return {
        **{f"PHQ-9-{n}": str(v) for n, v in phq.items()},
        **{f"GAD-7-{n}": str(v) for n, v in gad.items()},
    }


def test_answering_scores_and_shows_the_member_their_results(client):
    _group, r, survey = open_survey()
    client.force_login(r.member)
    path = survey_path(survey.pk)
    with time_machine.travel(dt.datetime(2026, 2, 2, tzinfo=dt.UTC), tick=False):
        page = client.get(path).content.decode()
        assert "Little interest or pleasure in doing things" in page and "988" in page
        incomplete = client.post(path, {"PHQ-9-1": "1"})
        assert incomplete.status_code == 400 and "Please answer every question" in incomplete.content.decode()
        assert "how difficult have these problems made it" in page  # PHQ-9's closing question
        assert " required" not in page.split("<form")[1]  # a skipped question still reaches us
        done = client.post(
            path,
            {**form_data(answers_totalling("PHQ-9", 12), answers_totalling("GAD-7", 7)), "PHQ-9-follow": "2"},
        )
        assert done.url == f"{path}results/"
        results = client.get(done.url).content.decode()
    assert "12 / 27" in results and "Moderate" in results and "7 / 21" in results and "Mild" in results
    assert not SafetyAlert.objects.exists() and not mail.outbox
    # The closing question is kept apart and scores nothing; it is optional (see the API test).
    phq = survey.responses.get(measure__code="PHQ-9")
    assert (phq.follow_up, phq.total) == (2, 12)
    assert survey.responses.get(measure__code="GAD-7").follow_up is None


def test_item_9_above_zero_shows_crisis_first_alerts_once_and_flags_until_reviewed(client):
    group, r, survey = open_survey()
    therapist_user = User.objects.create_user("t@example.test", "pw-t-123456789")
    group.therapist.user = therapist_user
    group.therapist.save()
    role_grant(therapist_user, THERAPIST)
    client.force_login(r.member)
    path = survey_path(survey.pk)
    with time_machine.travel(dt.datetime(2026, 2, 2, tzinfo=dt.UTC), tick=False):
        answer = client.post(
            path, form_data(answers_totalling("PHQ-9", 6, item9=1), answers_totalling("GAD-7", 3))
        )
        client.post(
            path, form_data(answers_totalling("PHQ-9", 6, item9=1), answers_totalling("GAD-7", 3))
        )  # again
    assert answer.url == f"{path}support/"
    support = client.get(answer.url).content.decode()
    first = support.index("<main")
    assert support.index('href="tel:988"', first) < support.index("What happens next", first)
    assert 'href="sms:988"' in support and 'href="tel:911"' in support and "llame al 988" in support
    [alert] = SafetyAlert.objects.all()
    for message in OutboxMessage.objects.filter(kind="care.safety_alert"):
        outbox_deliver(message_id=message.pk)
    alerts = [m for m in mail.outbox if m.subject == "Please check on a member today"]
    assert sorted(m.to[0] for m in alerts) == sorted([therapist_user.email, "care-team@grouport.local"])
    assert all(not CLINICAL.search(m.subject) and r.member.email not in m.body for m in alerts)
    assert f"/care/alerts/{alert.pk}/" in alerts[0].body  # the on-call page: tap to call, take it
    assert AuditEntry.objects.filter(action="safety_alert.opened").count() == 1
    # The roster shows it until a clinician writes what was done.
    staff = Client()
    sign_in(staff, therapist_user)
    assert "Reach out today" in staff.get(f"/admin/groups/group/{group.pk}/roster/").content.decode()
    change = staff.get(f"/admin/care/safetyalert/{alert.pk}/change/").content.decode()
    assert "Thoughts that you would be better off dead" in change
    assert "Member&#x27;s language" in change and f"/admin/groups/group/{group.pk}/roster/" in change
    assert " EST" in change  # the group's clock, like the roster, not UTC
    staff.post(f"/admin/care/safetyalert/{alert.pk}/change/", {"review_note": ""})
    assert SafetyAlert.objects.get().status == "open"  # a note is required
    staff.post(f"/admin/care/safetyalert/{alert.pk}/change/", {"review_note": "Called; safety plan made."})
    alert.refresh_from_db()
    assert alert.status == "reviewed" and alert.reviewed_by == therapist_user
    assert "Reach out today" not in staff.get(f"/admin/groups/group/{group.pk}/roster/").content.decode()
    assert AuditEntry.objects.filter(object_type="care.safetyalert", action__contains="reviewed").exists()


def test_the_safety_alert_is_written_with_the_answers_or_not_at_all(monkeypatch):
    _group, r, survey = open_survey()
    import care.services as outcomes

    def broken(**kwargs):
        raise RuntimeError("the outbox is down")

    monkeypatch.setattr(outcomes, "outbox_add", broken)
    with time_machine.travel(dt.datetime(2026, 2, 2, tzinfo=dt.UTC), tick=False), pytest.raises(RuntimeError):
        survey_answer(
            survey=survey, member=r.member,
            answers={"PHQ-9": answers_totalling("PHQ-9", 3, item9=3), "GAD-7": answers_totalling("GAD-7", 0)},
        )  # fmt: skip
    survey.refresh_from_db()
    assert survey.status == "open" and not survey.responses.exists()  # nothing half-saved


def test_review_needs_a_note():
    _group, r, survey = open_survey()
    with time_machine.travel(dt.datetime(2026, 2, 2, tzinfo=dt.UTC), tick=False):
        survey_answer(
            survey=survey, member=r.member,
            answers={"PHQ-9": answers_totalling("PHQ-9", 3, item9=3), "GAD-7": answers_totalling("GAD-7", 0)},
        )  # fmt: skip
    from grouport.exceptions import InvalidInput

    with pytest.raises(InvalidInput):
        safety_alert_review(alert=SafetyAlert.objects.get(), actor=r.member, note="  ")


# --- Isolation


def test_another_member_or_therapist_cannot_read_a_members_answers(client):
    group, r, survey = open_survey()
    with time_machine.travel(dt.datetime(2026, 2, 2, tzinfo=dt.UTC), tick=False):
        survey_answer(
            survey=survey, member=r.member,
            answers={"PHQ-9": answers_totalling("PHQ-9", 3, item9=1), "GAD-7": answers_totalling("GAD-7", 0)},
        )  # fmt: skip
    other = member()
    client.force_login(other)
    token = survey_token(survey.pk)
    for path in (f"/questions/{token}/", f"/questions/{token}/results/", f"/questions/{token}/support/"):
        assert client.get(path).status_code == 404
    api = APIClient()
    api.force_authenticate(other)
    assert api.get(f"/api/questionnaires/{token}/").status_code == 404
    assert api.get("/api/questionnaires/").json() == []
    own = APIClient()
    own.force_authenticate(r.member)
    [mine] = own.get("/api/questionnaires/").json()
    assert {s["measure"] for s in mine["scores"]} == {"PHQ-9", "GAD-7"}
    # Another therapist: not their group's alert, nor its roster.
    stranger = User.objects.create_user("t2@example.test", "pw-t-123456789")
    licensed_therapist("NY").__class__.objects.filter(pk=GroupFactory().therapist_id).update(user=stranger)
    role_grant(stranger, THERAPIST)
    desk = Client()
    sign_in(desk, stranger)
    alert = SafetyAlert.objects.get()
    assert desk.get(f"/admin/care/safetyalert/{alert.pk}/change/").status_code in (302, 404)
    assert desk.get(f"/admin/groups/group/{group.pk}/roster/").status_code in (302, 404)
    assert desk.get("/reports/outcomes/").status_code == 403


def test_the_api_answers_and_puts_the_crisis_line_first_when_needed():
    _group, r, survey = open_survey()
    api = APIClient()
    api.force_authenticate(r.member)
    token = survey_token(survey.pk)
    questions = api.get(f"/api/questionnaires/{token}/", HTTP_ACCEPT_LANGUAGE="es").json()
    assert questions["measures"][0]["items"][0]["text"] == "Poco interés o placer en hacer cosas"
    with time_machine.travel(dt.datetime(2026, 2, 2, tzinfo=dt.UTC), tick=False):
        bad = api.post(f"/api/questionnaires/{token}/", {"answers": {"PHQ-9": {"1": 0}}}, format="json")
        assert bad.status_code == 400 and bad.json()["code"] == "incomplete"
        answers = {"PHQ-9": answers_totalling("PHQ-9", 4, item9=2), "GAD-7": answers_totalling("GAD-7", 1)}
        ok = api.post(f"/api/questionnaires/{token}/", {"answers": answers}, format="json").json()
    assert ok["safety"] is True and next(iter(ok)) == "safety"
    assert survey.responses.get(measure__code="PHQ-9").follow_up is None  # not answered: fine
    assert questions["measures"][0]["follow_up"]["options"][0]["label"] == "No ha sido difícil"
    assert (
        ok["crisis"]["call"] == "tel:988"
        and ok["crisis"]["text"] == "sms:988"
        and "AYUDA" in ok["crisis"]["spanish"]
    )
    assert "on-call clinician" in ok["crisis"]["next"]
    es = api.get("/api/questionnaires/", HTTP_ACCEPT_LANGUAGE="es").json()[0]
    assert es["scores"][0]["band"] == "Mínima" and es["token"] == token
    schema = APIClient().get("/api/schema/").content.decode()
    assert "crisis" in schema and "safety" in schema and "measures" in schema


def test_two_spellings_of_one_item_are_refused_not_merged():
    _group, r, survey = open_survey()
    api = APIClient()
    api.force_authenticate(r.member)
    phq = {str(n): v for n, v in answers_totalling("PHQ-9", 0).items()}
    phq["09"] = 2
    with time_machine.travel(dt.datetime(2026, 2, 2, tzinfo=dt.UTC), tick=False):
        answer = api.post(
            f"/api/questionnaires/{survey_token(survey.pk)}/",
            {"answers": {"PHQ-9": phq, "GAD-7": {str(n): 0 for n in range(1, 8)}}},
            format="json",
        )
    assert answer.status_code == 400 and not survey.responses.exists()
    del phq["09"]
    with time_machine.travel(dt.datetime(2026, 2, 2, tzinfo=dt.UTC), tick=False):
        odd = api.post(
            f"/api/questionnaires/{survey_token(survey.pk)}/",
            {"answers": {"PHQ-9": phq, "GAD-7": {str(n): 0 for n in range(1, 8)}}, "follow_up": {"PHQ-9": 7}},
            format="json",
        )
    assert odd.status_code == 400 and not survey.responses.exists()
    with time_machine.travel(dt.datetime(2026, 2, 2, tzinfo=dt.UTC), tick=False):
        seven = api.post(
            f"/api/questionnaires/{survey_token(survey.pk)}/",
            {"answers": {"PHQ-9": {**phq, "1": 7}, "GAD-7": {str(n): 0 for n in range(1, 8)}}},
            format="json",
        ).json()
    assert seven["code"] == "invalid" and seven["safety"] is False


def test_a_safety_answer_reaches_a_person_even_when_the_answers_cannot_be_kept(client, caplog):
    """Closed while the page was open, or a question skipped: the help page comes first and
    the care team is told, once per questionnaire; finishing later adds no second email."""
    _group, r, survey = open_survey()
    client.force_login(r.member)
    path = survey_path(survey.pk)
    skipped = answers_totalling("PHQ-9", 2, item9=2)
    del skipped[3]
    with time_machine.travel(dt.datetime(2026, 2, 2, tzinfo=dt.UTC), tick=False):
        answer = client.post(path, form_data(skipped, {}))
        again = client.post(path, form_data(skipped, {}))
    assert answer.url == again.url == f"{path}support/"
    [alert] = SafetyAlert.objects.all()
    assert alert.response is None and alert.safety_answers == {"PHQ-9": {"9": 2}}
    survey.refresh_from_db()
    assert survey.status == "open"
    with time_machine.travel(dt.datetime(2026, 2, 2, 0, 5, tzinfo=dt.UTC), tick=False):
        support = client.get(answer.url).content.decode()
    assert "Finish the questions" in support and 'href="tel:988"' in support
    with time_machine.travel(dt.datetime(2026, 2, 2, 0, 5, tzinfo=dt.UTC), tick=False):
        again_form = client.get(path).content.decode()
    # What they had answered waits for them (item 9 included): only the skipped one is left.
    checked = set(re.findall(r'<input type="radio" name="([\w-]+)" value="(\d)"[^>]*checked', again_form))
    assert ("PHQ-9-9", "2") in checked and ("PHQ-9-1", "0") in checked
    assert not any(name == "PHQ-9-3" for name, _value in checked)
    # Finished later: the answers join the same alert; one alert, one email per address.
    with time_machine.travel(dt.datetime(2026, 2, 3, tzinfo=dt.UTC), tick=False):
        done = client.post(
            path, form_data(answers_totalling("PHQ-9", 5, item9=2), answers_totalling("GAD-7", 1))
        )
    assert done.url == f"{path}support/"
    alert.refresh_from_db()
    assert alert.response is not None and SafetyAlert.objects.count() == 1
    assert f"survey-draft-{survey.pk}" not in client.session  # the draft goes with the answers
    assert OutboxMessage.objects.filter(kind="care.safety_alert").count() == 1
    assert not [r for r in caplog.records if "safety" in r.getMessage().lower()]  # logs say nothing of it
    # A questionnaire that closed while the page was open: not kept, but not into the void.
    _g2, r2, late = open_survey()
    api = APIClient()
    api.force_authenticate(r2.member)
    answers = {
        "PHQ-9": {str(k): v for k, v in answers_totalling("PHQ-9", 3, item9=1).items()},
        "GAD-7": {str(k): v for k, v in answers_totalling("GAD-7", 0).items()},
    }
    with time_machine.travel(late.closes_at + dt.timedelta(minutes=5), tick=False):
        closed = api.post(
            f"/api/questionnaires/{survey_token(late.pk)}/", {"answers": answers}, format="json"
        )
    body = closed.json()
    assert closed.status_code == 409 and body["code"] == "questionnaire_closed"
    assert body["safety"] is True and body["crisis"]["call"] == "tel:988"
    assert SafetyAlert.objects.filter(survey=late, response__isnull=True).count() == 1
    ops = User.objects.create_user("ops2@example.test", "pw-ops-123456")
    role_grant(ops, STAFF)
    desk = Client()
    sign_in(desk, ops)
    page = desk.get(f"/admin/care/safetyalert/{SafetyAlert.objects.get(survey=late).pk}/change/")
    assert page.status_code == 200 and "could not be kept" in page.content.decode()
    assert "PHQ-9 9. Thoughts that you would be better off dead" in page.content.decode()
    assert not late.responses.exists()
    # Without a safety answer, a closed questionnaire is simply closed.
    _g3, r3, quiet = open_survey()
    client.force_login(r3.member)
    with time_machine.travel(quiet.closes_at + dt.timedelta(minutes=5), tick=False):
        page = client.post(
            survey_path(quiet.pk), form_data(answers_totalling("PHQ-9", 3), answers_totalling("GAD-7", 0))
        )
    assert page.status_code == 410 and not SafetyAlert.objects.filter(survey=quiet).exists()
    # Closed by the clock, before the job marks it: the page says so instead of a form.
    with time_machine.travel(quiet.closes_at + dt.timedelta(minutes=1), tick=False):
        shown = client.get(survey_path(quiet.pk))
    assert shown.status_code == 410 and "Send my answers" not in shown.content.decode()
    assert "Answer the questions" not in client.get("/my/").content.decode()


# --- The clinic's report, against a hand count


def test_the_outcomes_report_matches_a_hand_count(client):
    group = make_group(8)
    sessions = {s.number: s for s in group.sessions.all()}

    def member_with(start: int | None, end: int | None, gad=(0, 0)):
        r = seat(group)
        for point, total, at in (("baseline", start, dt.datetime(2026, 2, 1, 13, tzinfo=dt.UTC)),
                                 ("end", end, sessions[8].starts_at)):  # fmt: skip
            run_job(at)
            survey = OutcomeSurvey.objects.get(reservation=r, time_point=point)
            if total is not None:
                with time_machine.travel(at + dt.timedelta(hours=1), tick=False):
                    worry = gad[0] if point == "baseline" else gad[1]
                    survey_answer(
                        survey=survey,
                        member=r.member,
                        answers={
                            "PHQ-9": answers_totalling("PHQ-9", total),
                            "GAD-7": answers_totalling("GAD-7", worry),
                        },
                    )
        return r

    member_with(20, 8)  # improved (-12) and responded (8 <= 10)
    member_with(12, 6)  # improved (-6), responded (6 <= 6)
    member_with(10, 7)  # no reliable change (-3), not responded
    member_with(5, 12)  # worse (+7)
    member_with(14, None)  # did not answer at the end
    member_with(None, 9)  # did not answer at the start
    table = report_outcomes(ReportFilters(date_from=dt.date(2026, 1, 1), date_to=dt.date(2026, 12, 31)))
    phq = next(row for row in table.rows if row[0] == "All programs" and row[1] == "PHQ-9")
    columns = dict(zip(table.columns, phq, strict=True))
    assert columns["members asked"] == 6 and columns["answered start and end"] == 4
    assert (columns["improved reliably"], columns["improved %"]) == (2, 50.0)
    assert (columns["responded (score halved)"], columns["responded %"]) == (2, 50.0)
    assert (columns["got worse"], columns["worse %"]) == (1, 25.0)
    assert columns["no reliable change"] == 1
    assert (columns["did not answer"], columns["did not answer %"]) == (2, 33.3)
    assert columns["still in the program (not counted)"] == 0
    # A day into the last week, the member whose end questions are still open has not
    # missed anything: apart, not counted as "did not answer".
    early = report_outcomes(
        ReportFilters(date_from=dt.date(2026, 1, 1), date_to=dt.date(2026, 12, 31)),
        now=sessions[8].starts_at + dt.timedelta(days=1),
    )
    row = dict(
        zip(
            early.columns,
            next(r for r in early.rows if r[0] == "All programs" and r[1] == "PHQ-9"),
            strict=True,
        )
    )
    assert (row["members asked"], row["did not answer"], row["still in the program (not counted)"]) == (
        5,
        1,
        1,
    )
    assert row["did not answer %"] == 20.0
    # A member whose seat ended will not answer at the end: counted as not answered at once.
    from enrollment.services.reservations import reservation_cancel

    open_end = OutcomeSurvey.objects.get(time_point="end", status="open")
    reservation_cancel(reservation=open_end.reservation, actor=open_end.reservation.member, refund="none")
    early = report_outcomes(
        ReportFilters(date_from=dt.date(2026, 1, 1), date_to=dt.date(2026, 12, 31)),
        now=sessions[8].starts_at + dt.timedelta(days=1),
    )
    row = dict(
        zip(
            early.columns,
            next(r for r in early.rows if r[0] == "All programs" and r[1] == "PHQ-9"),
            strict=True,
        )
    )
    assert (row["members asked"], row["did not answer"], row["still in the program (not counted)"]) == (
        6,
        2,
        0,
    )
    ops = User.objects.create_user("ops@example.test", "pw-ops-123456")
    role_grant(ops, STAFF)
    sign_in(client, ops)
    page = client.get("/reports/outcomes/?date_from=2026-01-01&date_to=2026-12-31").content.decode()
    assert "Improved reliably" in page and "n=4" in page
    csv = client.get("/reports/outcomes.csv?date_from=2026-01-01&date_to=2026-12-31").content.decode()
    assert "All programs,PHQ-9,6,4,2,50.0,2,50.0,1,25.0,1,2,33.3,0" in csv
    assert AuditEntry.objects.filter(action="report.viewed", data__report="outcomes").exists()
    assert "at least 6 points on PHQ-9 or 4 points on GAD-7" in page
    # The threshold is the measure's own: the clinic changes it in the admin, and the figures
    # and the page follow (PHQ-9 at 7: the -6 member is no longer "improved reliably", and the
    # +7 one is still "worse"); a measure without one counts nobody and says so.
    Measure.objects.filter(code="PHQ-9").update(reliable_change=7)
    Measure.objects.filter(code="GAD-7").update(reliable_change=None)
    table = report_outcomes(ReportFilters(date_from=dt.date(2026, 1, 1), date_to=dt.date(2026, 12, 31)))
    phq = dict(
        zip(table.columns, next(r for r in table.rows if r[:2] == ["All programs", "PHQ-9"]), strict=True)
    )
    assert (phq["improved reliably"], phq["got worse"], phq["no reliable change"]) == (1, 1, 2)
    page = client.get("/reports/outcomes/?date_from=2026-01-01&date_to=2026-12-31").content.decode()
    assert "at least 7 points on PHQ-9" in page and "GAD-7: no threshold set" in page


@pytest.mark.django_db
@pytest.mark.sqlite
def test_staff_set_a_measures_threshold_in_the_admin_and_its_wording_is_kept_once_answered(client):
    """The thresholds (and questionnaires) are data the clinic keeps in the admin, staff only;
    once a version has answers its wording and scoring cannot change under them."""
    from tests.factories import staff

    phq = Measure.objects.get(code="PHQ-9")
    therapist = licensed_therapist("NY")
    role_grant(therapist.user, THERAPIST)
    sign_in(client, therapist.user)
    assert client.get(f"/admin/care/measure/{phq.pk}/change/").status_code in (302, 403, 404)
    client.logout()
    sign_in(client, staff())
    page = client.get(f"/admin/care/measure/{phq.pk}/change/")
    assert page.status_code == 200 and 'name="reliable_change"' in page.content.decode()
    group = make_group(8)
    r = seat(group)
    run_job(dt.datetime(2026, 2, 1, 13, tzinfo=dt.UTC))
    survey = OutcomeSurvey.objects.get(reservation=r, time_point="baseline")
    with time_machine.travel(dt.datetime(2026, 2, 1, 14, tzinfo=dt.UTC), tick=False):
        survey_answer(
            survey=survey,
            member=r.member,
            answers={"PHQ-9": answers_totalling("PHQ-9", 5), "GAD-7": answers_totalling("GAD-7", 3)},
        )
    page = client.get(f"/admin/care/measure/{phq.pk}/change/").content.decode()
    assert 'name="reliable_change"' in page and 'name="options"' not in page and 'name="bands"' not in page
