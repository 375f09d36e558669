"""A safety alert rings the clinician on call until a person takes it: texted (and called)
at once, the next on the rota at 15 minutes, everyone and the lead at 30; taken with one
tap or a reply with the code; never lost while the text provider is down; and no text
names a member or says anything clinical."""

import datetime as dt
import re
import threading

import pytest
import time_machine
from django.db import close_old_connections, connection
from django.utils import timezone

from care.models import AlertPage, OnCallClinician, OnCallShift, SafetyAlert
from care.oncall import alerts_escalate, safety_alert_acknowledge
from care.services import _safety_alert_open
from grouport.models import AuditEntry, OutboxMessage
from grouport.roles import THERAPIST, role_grant
from tests.factories import GroupFactory, UserFactory, licensed_therapist, member, seated, sign_in
from tests.texting.helpers import deliver_outbox, text_in
from texting.models import TextMessage

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]

T0 = dt.datetime(2026, 12, 11, 4, 0, tzinfo=dt.UTC)  # 11 PM on a Thursday in New York
CLINICAL = re.compile(
    r"dbt|therap|clinic|depress|anxi|suicid|self-harm|harm|crisis|mental|phq|gad|score|safety|risk|diagnos|psych",
    re.I,
)
PHONES = {"a": "+12125550101", "b": "+12125550102", "c": "+12125550103", "lead": "+12125550109"}


def clinician(name: str, *, lead: bool = False, position: int | None = None) -> OnCallClinician:
    user = UserFactory(is_staff=True, first_name=name.title(), last_name="Oncall")
    role_grant(user, THERAPIST)
    person = OnCallClinician.objects.create(user=user, phone=PHONES[name], is_lead=lead)
    if position is not None:
        OnCallShift.objects.create(
            clinician=person,
            starts_at=T0 - dt.timedelta(hours=3),
            ends_at=T0 + dt.timedelta(hours=9),
            position=position,
        )
    return person


@pytest.fixture
def rota():
    return {
        "a": clinician("a", position=1),
        "b": clinician("b", position=2),
        "c": clinician("c", position=3),
        "lead": clinician("lead", lead=True),
    }


def raise_alert(at=T0) -> SafetyAlert:
    """A member's safety answer, through the service that opens the alert (and pages)."""
    from care.models import OutcomeSurvey

    group = GroupFactory(therapist=licensed_therapist("NY"))
    reservation = seated(group, first_name="Rosalind", last_name="Quist")
    session = group.sessions.order_by("starts_at").first()
    survey = OutcomeSurvey.objects.create(
        reservation=reservation, time_point="baseline", opens_at=session.starts_at, closes_at=session.ends_at
    )
    from django.db import transaction

    with time_machine.travel(at, tick=False), transaction.atomic():
        return _safety_alert_open(
            survey=survey, response=None, flagged={"PHQ-9": {"9": 2}}, member=reservation.member, now=at
        )


def minute(n: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=n)


def tick(at: dt.datetime) -> None:
    """What the periodic jobs do at ``at``: escalate, then deliver what is due."""
    with time_machine.travel(at, tick=False):
        alerts_escalate(now=at)
        deliver_outbox(at)


def texted(fake) -> list[str]:
    return [m.to for m in fake.messages if m.via == "api"]


def test_escalation_texts_at_once_then_the_next_then_everyone(twilio_fake, rota):
    raise_alert()
    tick(minute(0))
    assert texted(twilio_fake) == [PHONES["a"]]
    assert [c.to for c in twilio_fake.calls] == [PHONES["a"]]
    tick(minute(14))
    assert texted(twilio_fake) == [PHONES["a"]]
    tick(minute(15))
    assert texted(twilio_fake)[1:] == [PHONES["a"], PHONES["b"]]
    tick(minute(29))
    assert len(texted(twilio_fake)) == 3
    tick(minute(30))
    assert sorted(texted(twilio_fake)[3:]) == sorted(PHONES.values())
    for later in (31, 45, 90):
        tick(minute(later))
    assert len(texted(twilio_fake)) == 7  # three steps, then quiet: the last step was everyone
    alert = SafetyAlert.objects.get()
    steps = [e.data["step"] for e in AuditEntry.objects.filter(action="safety_alert.paged").order_by("pk")]
    assert steps == [0, 1, 2] and alert.status == "open"


def test_acknowledged_at_ten_minutes_stops_it(client, twilio_fake, rota):
    alert = raise_alert()
    tick(minute(0))
    sign_in(client, rota["a"].user)
    with time_machine.travel(minute(10), tick=False):
        page = client.get(f"/care/alerts/{alert.pk}/")
        assert page.status_code == 200
        body = page.content.decode()
        assert "Rosalind" in body and 'href="tel:' in body and "I have it" in body
        assert client.post(f"/care/alerts/{alert.pk}/").status_code == 302
    for later in (15, 30, 60):
        tick(minute(later))
    assert texted(twilio_fake) == [PHONES["a"]]
    alert.refresh_from_db()
    assert alert.status == "acknowledged" and alert.acknowledged_by == rota["a"].user
    assert alert.acknowledged_via == "link"
    assert AuditEntry.objects.filter(action="safety_alert.viewed", actor=rota["a"].user).exists()


def test_a_reply_with_the_code_from_a_paged_phone_takes_it(client, twilio_fake, rota):
    alert = raise_alert()
    tick(minute(0))
    alert.refresh_from_db()
    # The code from a phone that was not paged is not an acknowledgement.
    text_in(client, twilio_fake, PHONES["c"], alert.code)
    alert.refresh_from_db()
    assert alert.status == "open"
    response, _ = text_in(client, twilio_fake, PHONES["a"], f"ok {alert.code}")
    assert "yours" in response.content.decode()
    alert.refresh_from_db()
    assert alert.status == "acknowledged" and alert.acknowledged_via == "text"
    response, _ = text_in(client, twilio_fake, PHONES["a"], alert.code)
    assert "it is yours" in response.content.decode()  # they took it: theirs, not "someone"
    # A mistyped code from a clinician's phone is not a member's words for the care team.
    wrong = str((int(alert.code) + 1) % 10**6).zfill(6)
    response, _ = text_in(client, twilio_fake, PHONES["b"], wrong)
    assert "not an alert waiting for you" in response.content.decode()
    from texting.models import InboundText

    assert not InboundText.objects.filter(outcome="unread").exists()
    tick(minute(15))
    assert texted(twilio_fake) == [PHONES["a"]]


def test_pages_waiting_when_it_is_taken_are_withdrawn(twilio_fake, rota):
    alert = raise_alert()
    twilio_fake.down = True
    tick(minute(0))
    tick(minute(15))
    safety_alert_acknowledge(alert_id=alert.pk, actor=rota["b"].user, via="link")
    twilio_fake.down = False
    tick(minute(17.5))  # past every retry's back-off (a minute at most, with jitter)
    assert texted(twilio_fake) == []
    assert set(TextMessage.objects.values_list("status", flat=True)) == {"withdrawn"}
    assert set(OutboxMessage.objects.filter(kind="care.alert_page").values_list("status", flat=True)) == {
        "done"
    }


def test_the_provider_down_twenty_minutes_then_every_text_once_in_order(twilio_fake, rota):
    raise_alert()
    twilio_fake.down = True
    for m in range(0, 20):
        tick(minute(m))
    assert texted(twilio_fake) == []
    twilio_fake.down = False
    for m in range(20, 24):
        tick(minute(m + 0.5))
    sent = [m for m in twilio_fake.messages if m.via == "api"]
    assert sorted(m.to for m in sent) == [PHONES["a"], PHONES["a"], PHONES["b"]]  # each once
    # In order for each person: A's step-0 page reached A before A's step-1 page.
    order = [m.sid for m in sent]
    a_pages = AlertPage.objects.filter(phone=PHONES["a"]).order_by("step").select_related("text")
    assert [order.index(p.text.provider_sid) for p in a_pages] == sorted(
        order.index(p.text.provider_sid) for p in a_pages
    )
    assert len({t.provider_sid for t in TextMessage.objects.filter(channel="sms")}) == 3
    assert set(OutboxMessage.objects.filter(kind="care.alert_page").values_list("status", flat=True)) == {
        "done"
    }
    tick(minute(30.5))
    assert len(texted(twilio_fake)) == 7
    # The alert shows the late pages for what they were: sent, after how many tries.
    from django.test import Client

    viewer = Client()
    sign_in(viewer, rota["a"].user)
    page = viewer.get(f"/care/alerts/{SafetyAlert.objects.get().pk}/").content.decode()
    assert "tries (the text service was failing)" in page


def test_nobody_on_the_rota_pages_the_lead_and_someone_off_the_rota_is_paged_again(twilio_fake):
    lead = clinician("lead", lead=True)
    raise_alert()
    tick(minute(0))
    assert texted(twilio_fake) == [PHONES["lead"]]
    lead.active = False
    lead.save()
    tick(minute(15))
    assert texted(twilio_fake) == [PHONES["lead"], PHONES["lead"]]


def test_no_text_names_a_member_or_says_anything_clinical(client, twilio_fake, rota):
    alert = raise_alert()
    for m in (0, 15, 30):
        tick(minute(m))
    text_in(client, twilio_fake, PHONES["a"], SafetyAlert.objects.get().code)
    alert.refresh_from_db()
    member_words = {alert.reservation.member.first_name, alert.reservation.member.last_name,
                    alert.reservation.member.email, alert.reservation.group.title}  # fmt: skip
    words = [m.body for m in twilio_fake.messages] + [c.twiml for c in twilio_fake.calls]
    assert len(words) >= 8
    for text in words:
        assert not CLINICAL.search(text), text
        assert not any(w and w.lower() in text.lower() for w in member_words), text


def test_only_the_therapist_staff_and_people_paged_see_the_alert(client, twilio_fake, rota):
    alert = raise_alert()
    tick(minute(0))
    outsider = UserFactory(is_staff=True)
    role_grant(outsider, THERAPIST)
    sign_in(client, outsider)
    assert client.get(f"/care/alerts/{alert.pk}/").status_code == 404
    assert client.post(f"/care/alerts/{alert.pk}/").status_code == 404
    alert.refresh_from_db()
    assert alert.status == "open"
    client.logout()
    sign_in(client, rota["b"].user)  # on the rota, not paged yet
    assert client.get(f"/care/alerts/{alert.pk}/").status_code == 404
    sign_in(client, alert.reservation.group.therapist.user)
    assert client.get(f"/care/alerts/{alert.pk}/").status_code == 200


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_acknowledgements_at_once_count_once(rota):
    alert = raise_alert()
    barrier = threading.Barrier(2)
    results = []

    def take(person):
        try:
            barrier.wait()
            results.append(safety_alert_acknowledge(alert_id=alert.pk, actor=person.user, via="link")[1])
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=take, args=(rota[name],)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False, True]
    assert (
        AuditEntry.objects.filter(object_type="care.safetyalert", action__contains="acknowledged").count()
        == 1
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_clinician_taking_it_while_a_reply_takes_it_counts_once(rota, twilio_fake, client):
    """The group's therapist's tap and the paged clinician's reply meet on the alert's row:
    one wins, the other hears someone has it."""
    alert = raise_alert()
    tick(timezone.now())
    alert.refresh_from_db()
    therapist = alert.reservation.group.therapist.user
    barrier = threading.Barrier(2)
    outcomes = []

    def by_link():
        try:
            barrier.wait()
            outcomes.append(safety_alert_acknowledge(alert_id=alert.pk, actor=therapist, via="link")[1])
        finally:
            connection.close()

    def by_text():
        from care.oncall import alert_reply

        try:
            barrier.wait()
            outcomes.append("yours" in (alert_reply(from_phone=PHONES["a"], body=alert.code) or ""))
        finally:
            connection.close()

    threads = [threading.Thread(target=by_link), threading.Thread(target=by_text)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == [False, True]
    assert AlertPage.objects.filter(alert=alert).count() == 1
    assert (
        AuditEntry.objects.filter(object_type="care.safetyalert", action__contains="acknowledged").count()
        == 1
    )


def test_the_rota_form_refuses_bad_zones_and_backwards_shifts_plainly(client, rota):
    from tests.factories import staff

    desk = staff()
    sign_in(client, desk)
    clinician = rota["a"]
    form = {
        "user": clinician.user.pk, "phone": "212 555 0101", "zone": "Pacific", "is_lead": "", "active": "on",
        "shifts-TOTAL_FORMS": "1", "shifts-INITIAL_FORMS": "0", "shifts-MIN_NUM_FORMS": "0",
        "shifts-MAX_NUM_FORMS": "1000",
        "shifts-0-starts_at_0": "2026-12-12", "shifts-0-starts_at_1": "22:00",
        "shifts-0-ends_at_0": "2026-12-12", "shifts-0-ends_at_1": "21:00", "shifts-0-position": "1",
    }  # fmt: skip
    page = client.post(f"/admin/care/oncallclinician/{clinician.pk}/change/", form)
    assert page.status_code == 200
    body = page.content.decode()
    assert "Select a valid choice" in body
    form["zone"] = "America/Los_Angeles"
    body = client.post(f"/admin/care/oncallclinician/{clinician.pk}/change/", form).content.decode()
    assert "A shift ends after it starts." in body and "shift_ends_after_start" not in body
    # Members are not offered: only active staff accounts, by name.
    newcomer = UserFactory(is_staff=True, first_name="Noor", last_name="Night")
    add = client.get("/admin/care/oncallclinician/add/").content.decode()
    assert f"Noor Night &lt;{newcomer.email}&gt;" in add
    assert "User #" not in add


def test_a_clinician_sent_to_set_up_a_second_factor_comes_back_to_the_alert(client, twilio_fake, rota):
    from grouport.middleware import AFTER_SECOND_FACTOR
    from tests.factories import second_factor

    alert = raise_alert()
    tick(minute(0))
    user = rota["a"].user
    client.force_login(user)  # signed in, no second factor yet
    answer = client.get(f"/care/alerts/{alert.pk}/")
    assert answer.status_code == 302 and "/accounts/2fa/totp/activate/" in answer.url
    assert client.session[AFTER_SECOND_FACTOR] == f"/care/alerts/{alert.pk}/"
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes

    second_factor(user)  # enrolled, as the activate page does: an app, then recovery codes
    RecoveryCodes.activate(user)
    import time

    from allauth.account.internal.flows import login as allauth_login

    from grouport.roles import ENROLLED_SESSION_KEY

    session = client.session  # this session enrolled it, just after signing in
    session[allauth_login.AUTHENTICATION_METHODS_SESSION_KEY] = [
        {"method": "password", "at": time.time(), "email": user.email}
    ]
    session[allauth_login._AUTHENTICATION_METHODS_USER_SESSION_KEY] = str(user.pk)
    session[ENROLLED_SESSION_KEY] = user.pk
    session.save()
    codes = client.get("/accounts/2fa/recovery-codes/")
    assert f'href="/care/alerts/{alert.pk}/"' in codes.content.decode()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_taking_an_alert_while_the_escalation_job_pages_leaves_nothing_waiting(rota):
    """The job and a clinician meet on the alert's row: whichever goes second sees the other."""
    alert = raise_alert(at=timezone.now() - dt.timedelta(minutes=16))
    barrier = threading.Barrier(2)

    def escalate():
        try:
            barrier.wait()
            alerts_escalate()
        finally:
            connection.close()

    def take():
        try:
            barrier.wait()
            safety_alert_acknowledge(alert_id=alert.pk, actor=rota["b"].user, via="link")
        finally:
            connection.close()

    threads = [threading.Thread(target=escalate), threading.Thread(target=take)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    alert.refresh_from_db()
    assert alert.status == "acknowledged"
    assert not TextMessage.objects.filter(status="queued").exists()  # paged and withdrawn, or never paged


def test_alerts_from_before_the_pager_are_not_paged_after_an_upgrade(twilio_fake, rota):
    """An upgrade does not ring the on-call at night for alerts the emails already carried."""
    import importlib

    from django.apps import apps

    alert = raise_alert(at=T0 - dt.timedelta(days=10))
    alert.steps.all().delete()
    AlertPage.objects.all().delete()
    OutboxMessage.objects.filter(kind="care.alert_page").delete()
    TextMessage.objects.all().delete()
    migration = importlib.import_module("care.migrations.0004_alerts_before_the_pager")
    migration.alerts_already_carried(apps, None)  # the real models stand in for the historical ones
    tick(minute(0))
    tick(minute(31))
    assert texted(twilio_fake) == []
    assert set(alert.steps.values_list("step", flat=True)) == {0, 1, 2}


def test_a_text_stuck_sending_holds_up_nobody_elses_page_and_is_tried_again_for_its_own(twilio_fake, rota):
    """A worker killed mid-send leaves a page's text "sending": other people's pages go at
    once; that person's next page sends it again first (twice is better than never)."""
    raise_alert()
    tick(minute(0))
    first = AlertPage.objects.get(step=0)
    TextMessage.objects.filter(pk=first.text_id).update(status="sending", provider_sid=None)
    twilio_fake.messages.clear()
    with time_machine.travel(minute(15), tick=False):
        alerts_escalate(now=minute(15))
    # Step 1: A again and B. B's page does not wait for A's stuck text.
    b_page = AlertPage.objects.get(step=1, phone=PHONES["b"])
    from grouport.outbox import outbox_deliver

    b_message = OutboxMessage.objects.get(kind="care.alert_page", payload__page=b_page.pk)
    with time_machine.travel(minute(15), tick=False):
        assert outbox_deliver(message_id=b_message.pk, now=minute(15)) == "done"
    assert texted(twilio_fake) == [PHONES["b"]]
    tick(minute(15))  # A's step-1 page: A's stuck step-0 text is long stale, so it goes first
    assert texted(twilio_fake) == [PHONES["b"], PHONES["a"], PHONES["a"]]
    assert set(TextMessage.objects.filter(channel="sms").values_list("status", flat=True)) == {"sent"}


def test_the_call_rings_when_the_text_service_fails_and_a_stopped_phone_still_rings(
    client, twilio_fake, rota
):
    from django.core import mail

    text_in(client, twilio_fake, PHONES["a"], "STOP")  # half asleep, the night before
    raise_alert()
    tick(minute(0))
    assert texted(twilio_fake) == [] and [c.to for c in twilio_fake.calls] == [PHONES["a"]]
    deliver_outbox(minute(0))
    told = [m for m in mail.outbox if m.subject == "An alert could not ring the on-call phone"]
    assert len(told) == 1 and "replied STOP" in told[0].body and "Rosalind" not in told[0].body


def test_two_members_sharing_a_phone_stop_together_in_the_lock_order(client, twilio_fake):
    from texting.models import TextSubscription
    from texting.services import subscription_set

    household = "+12125550177"
    first, second = member(), member()
    subscription_set(member=second, receive=True, phone=household)
    subscription_set(member=first, receive=True, phone=household)  # changed last: listed first
    response, _ = text_in(client, twilio_fake, household, "STOP")
    assert response.status_code == 200
    assert set(TextSubscription.objects.values_list("status", flat=True)) == {"stopped"}
    text_in(client, twilio_fake, household, "START")
    assert set(TextSubscription.objects.values_list("status", flat=True)) == {"on"}


def test_a_paged_clinician_sees_the_alert_until_a_day_after_its_review(client, twilio_fake, rota):
    from care.services import safety_alert_review

    alert = raise_alert()
    tick(minute(0))
    sign_in(client, rota["a"].user)
    therapist = alert.reservation.group.therapist.user
    with time_machine.travel(minute(20), tick=False):
        safety_alert_review(alert=alert, actor=therapist, note="Called; safe with her sister tonight.")
        assert client.get(f"/care/alerts/{alert.pk}/").status_code == 200
    alert.refresh_from_db()
    assert alert.acknowledged_by == therapist and alert.acknowledged_via == "review"  # taken by reviewing
    with time_machine.travel(minute(20) + dt.timedelta(days=1, minutes=1), tick=False):
        assert client.get(f"/care/alerts/{alert.pk}/").status_code == 404
        sign_in(client, therapist)
        assert client.get(f"/care/alerts/{alert.pk}/").status_code == 200  # their member


def test_an_alert_opened_just_before_the_upgrade_is_still_paged(twilio_fake, rota):
    import importlib

    from django.apps import apps

    alert = raise_alert(at=timezone.now() - dt.timedelta(minutes=20))
    alert.steps.all().delete()
    AlertPage.objects.all().delete()
    migration = importlib.import_module("care.migrations.0004_alerts_before_the_pager")
    migration.alerts_already_carried(apps, None)
    assert not alert.steps.exists()
    alerts_escalate()
    assert set(alert.steps.values_list("step", flat=True)) == {0, 1}


def test_a_taken_alert_is_reviewed_in_the_admin_with_its_note(client, twilio_fake, rota):
    """Taking it stops the pages; the review, with what was done, still closes it."""
    alert = raise_alert()
    tick(minute(0))
    safety_alert_acknowledge(alert_id=alert.pk, actor=rota["a"].user, via="link")
    therapist = alert.reservation.group.therapist.user
    role_grant(therapist, THERAPIST)
    sign_in(client, therapist)
    url = f"/admin/care/safetyalert/{alert.pk}/change/"
    assert "review_note" in client.get(url).context["adminform"].form.fields
    client.post(url, {"review_note": ""})
    alert.refresh_from_db()
    assert alert.status == "acknowledged"  # a note is required
    answer = client.post(url, {"review_note": "Called her; safe at her sister's."}, follow=True)
    alert.refresh_from_db()
    assert alert.status == "reviewed" and alert.reviewed_by == therapist
    assert alert.acknowledged_by == rota["a"].user  # who took it stays on record
    assert "Marked reviewed" in answer.content.decode()


def test_the_taker_sending_the_code_again_hears_it_is_theirs(client, twilio_fake, rota):
    alert = raise_alert()
    tick(minute(0))
    alert.refresh_from_db()
    text_in(client, twilio_fake, PHONES["a"], alert.code)
    again, _ = text_in(client, twilio_fake, PHONES["a"], alert.code)
    assert "it is yours" in again.content.decode()


def test_the_rota_takes_only_phones_that_can_get_pages(client, rota):
    from tests.factories import staff

    sign_in(client, staff())
    clinician = rota["c"]
    form = {
        "user": clinician.user.pk, "phone": "800 555 0100", "zone": "America/New_York", "active": "on",
        "shifts-TOTAL_FORMS": "0", "shifts-INITIAL_FORMS": "0", "shifts-MIN_NUM_FORMS": "0",
        "shifts-MAX_NUM_FORMS": "1000",
    }  # fmt: skip
    page = client.post(f"/admin/care/oncallclinician/{clinician.pk}/change/", form)
    assert page.status_code == 200 and "A US mobile number" in page.content.decode()
    clinician.refresh_from_db()
    assert clinician.phone == PHONES["c"]
    # Someone already on the rota is not offered again when adding.
    add = client.get("/admin/care/oncallclinician/add/").content.decode()
    assert clinician.user.email not in add


def test_a_page_out_of_tries_fails_and_the_care_team_is_told(twilio_fake, rota):
    from django.core import mail

    from grouport.outbox import outbox_deliver

    raise_alert()
    twilio_fake.down = True
    message = OutboxMessage.objects.get(kind="care.alert_page")
    OutboxMessage.objects.filter(pk=message.pk).update(attempts=119)  # two hours of tries
    with time_machine.travel(minute(0), tick=False):
        assert outbox_deliver(message_id=message.pk, now=minute(0)) == "failed"
    page = AlertPage.objects.get()
    assert {page.text.status, page.call.status} == {"failed"}
    (told,) = [m for m in mail.outbox if m.subject == "An alert could not ring the on-call phone"]
    assert "failed for too long" in told.body and "Rosalind" not in told.body
    assert AuditEntry.objects.filter(action="safety_alert.page_failed").count() == 1


def test_a_page_whose_text_another_worker_is_sending_waits_its_turn(twilio_fake, rota):
    from grouport.outbox import outbox_deliver

    raise_alert()
    page = AlertPage.objects.get()
    TextMessage.objects.filter(pk=page.text_id).update(status="sending", updated_at=minute(0))
    message = OutboxMessage.objects.get(kind="care.alert_page")
    with time_machine.travel(minute(0.5), tick=False):
        assert outbox_deliver(message_id=message.pk, now=minute(0.5)) == "pending"  # again in a minute
    assert texted(twilio_fake) == []
    assert [c.to for c in twilio_fake.calls] == [PHONES["a"]]  # the call did not wait
