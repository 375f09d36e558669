"""Twilio misbehaves while texts and on-call pages go out: down (500s) for a while, answers
lost on the way back, and a Twilio that stalls.

A real Celery worker (prefork, as production runs it) delivers the outbox from a throw-away
Redis with ``TWILIO_API_BASE`` pointing at the fake Twilio (tests/fake_twilio.py) and a
two-second ``TWILIO_TIMEOUT_SECONDS``. Members turn texts on (each gets a confirmation) and a
safety alert pages the clinician on call. After each fault: every outbox message done or
failed, no member texted twice (a member's text whose answer was lost is failed, never sent
again), every page delivered (a page whose answer was lost is sent again: twice is better
than never), and the usual invariants.
"""

import datetime as dt
import time
from collections import Counter

import pytest
from django.db import connection, transaction
from django.utils import timezone

from care.models import OnCallClinician, OnCallShift, OutcomeSurvey
from care.services import _safety_alert_open
from grouport.models import OutboxMessage
from grouport.roles import THERAPIST, role_grant
from tests import fake_twilio
from tests.factories import GroupFactory, UserFactory, licensed_therapist, member, seated
from tests.faults.harness import (
    app_env,
    celery_publishing_to,
    check_invariants,
    database_url_for_this_test,
    report,
    settle_outbox,
    wait_until,
)
from texting.models import TextMessage
from texting.services import subscription_set

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

MEMBERS = 6
ON_CALL = "+12125550111"


@pytest.fixture
def twilio():
    fake, server = fake_twilio.start()
    yield fake
    server.shutdown()
    server.server_close()


@pytest.fixture
def worker_env(redis_server, mailbox, twilio):
    return app_env(
        database_url=database_url_for_this_test(),
        redis_url=redis_server.url,
        mailbox=mailbox,
        TWILIO_ACCOUNT_SID=fake_twilio.ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=fake_twilio.AUTH_TOKEN,
        TWILIO_FROM_NUMBER=fake_twilio.FROM_NUMBER,
        TWILIO_API_BASE=twilio.url,
        TWILIO_TIMEOUT_SECONDS="2",
    )


def phone(n: int) -> str:
    return f"+1212555{n:04d}"


def members_turn_texts_on(count: int = MEMBERS) -> list[str]:
    phones = []
    for n in range(count):
        who = member()
        subscription_set(member=who, receive=True, phone=phone(200 + n))
        phones.append(phone(200 + n))
    return phones


def an_alert_pages_the_on_call():
    user = UserFactory(is_staff=True)
    role_grant(user, THERAPIST)
    person = OnCallClinician.objects.create(user=user, phone=ON_CALL)
    now = timezone.now()
    OnCallShift.objects.create(
        clinician=person, starts_at=now - dt.timedelta(hours=1), ends_at=now + dt.timedelta(hours=8)
    )
    group = GroupFactory(therapist=licensed_therapist("NY"))
    reservation = seated(group, at=None)
    session = group.sessions.order_by("starts_at").first()
    survey = OutcomeSurvey.objects.create(
        reservation=reservation, time_point="baseline", opens_at=session.starts_at, closes_at=session.ends_at
    )
    with transaction.atomic():
        _safety_alert_open(
            survey=survey, response=None, flagged={"PHQ-9": {"9": 1}}, member=reservation.member, now=now
        )


def time_passes() -> None:
    """The back-off of every failed try is over (as if its minutes had gone by)."""
    OutboxMessage.objects.filter(status="pending").update(available_at=timezone.now())


def sent_to(fake) -> Counter:
    return Counter(m.to for m in fake.messages if m.via == "api")


def settle(app, fake) -> dict:
    time_passes()
    swept = settle_outbox(app, connection.cursor, timeout=60)
    with connection.cursor() as cursor:
        figures = check_invariants(cursor)
    return {"settled_s": round(swept, 1), **figures}


def test_twilio_down_then_back_every_text_goes_once_and_the_page_goes(
    services, redis_server, twilio, worker_env
):
    twilio.down = True
    with celery_publishing_to(redis_server.url) as app:
        services.worker(worker_env, concurrency=2)
        phones = members_turn_texts_on()
        an_alert_pages_the_on_call()
        wait_until(
            lambda: OutboxMessage.objects.filter(status="pending", attempts__gte=1).count() >= MEMBERS + 1,
            timeout=30,
            what="every first try to fail",
        )
        assert not twilio.messages
        for _ in range(2):  # still down at the next tries
            time_passes()
            wait_until(lambda: not OutboxMessage.objects.filter(status="sending").exists(), timeout=30)
        twilio.down = False
        figures = settle(app, twilio)
    counts = sent_to(twilio)
    assert all(counts[p] == 1 for p in phones), counts
    assert counts[ON_CALL] == 1 and [c.to for c in twilio.calls] == [ON_CALL]
    assert set(TextMessage.objects.values_list("status", flat=True)) == {"sent"}
    report("twilio_down", texts=sum(counts.values()), **figures)


def test_answers_lost_never_text_a_member_twice_and_the_page_still_goes(
    services, redis_server, twilio, worker_env
):
    twilio.lose_next = 3  # carried out by Twilio, the answer dropped on the way back
    with celery_publishing_to(redis_server.url) as app:
        phones = members_turn_texts_on()
        an_alert_pages_the_on_call()
        services.worker(worker_env, concurrency=1)
        figures = settle(app, twilio)
        wait_until(lambda: sent_to(twilio)[ON_CALL] >= 1, timeout=30, what="the page")
    counts = sent_to(twilio)
    assert all(counts[p] == 1 for p in phones), counts  # lost or not, once
    failed = TextMessage.objects.filter(status="failed")
    assert all("may have gone" in t.error for t in failed)
    assert counts[ON_CALL] >= 1
    assert TextMessage.objects.filter(purpose="page", channel="sms", status="sent").count() == 1
    report(
        "twilio_lost", lost=3, member_texts_failed=failed.filter(purpose="confirmation").count(), **figures
    )


def test_a_stalled_twilio_holds_a_worker_two_seconds_not_longer(services, redis_server, twilio, worker_env):
    twilio.stall_seconds, twilio.stall_next = 20.0, 1
    with celery_publishing_to(redis_server.url) as app:
        services.worker(worker_env, concurrency=1)
        started = time.monotonic()
        phones = members_turn_texts_on()
        # One worker process: the stalled text holds it for the timeout, then the rest go.
        wait_until(lambda: sum(sent_to(twilio).values()) >= MEMBERS - 1, timeout=30, what="the other texts")
        others = time.monotonic() - started
        figures = settle(app, twilio)
    assert others < 15, others
    stalled = TextMessage.objects.filter(status="failed")
    assert stalled.count() <= 1 and all("may have gone" in t.error for t in stalled)
    counts = sent_to(twilio)
    wait_until(
        lambda: sum(sent_to(twilio).values()) >= MEMBERS, timeout=30, what="the stalled request to land"
    )
    assert all(sent_to(twilio)[p] == 1 for p in phones), counts
    report("twilio_stall", others_s=round(others, 1), **figures)
