"""Redis, the broker, stops and starts again under a running web server and worker.

gunicorn and a prefork Celery worker run on this test's database with a throw-away Redis
(no persistence: what it held is lost when it stops). While it is down, members sign in,
reserve, pay (the offline provider) and cancel through the web, and every answer is a quick
success. When it is back, the worker reconnects by itself, a new reservation is emailed at
once, and the sweeper (queued as beat would) delivers the outage's backlog: each email and
the refund exactly once.

Redis goes away in two ways: shut down (connections refused), and hung (``kill -STOP``: the
kernel still accepts connections, nothing answers) until ``kill -CONT``.
"""

import datetime as dt
import time
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from billing.models import Payment, Refund
from enrollment.models import Reservation
from grouport.models import OutboxMessage
from tests.factories import GroupFactory, licensed_therapist
from tests.faults.harness import (
    Answer,
    app_env,
    celery_publishing_to,
    check_invariants,
    database_url_for_this_test,
    outbox_retried,
    report,
    settle_outbox,
    wait_until,
    web_member,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

QUICK = 5.0  # seconds: a member's request while the broker is down
BROKER_PAUSE = 2.5  # tests.faults.fault_settings.BROKER_DOWN_SECONDS, and a margin


@pytest.mark.parametrize("outage", ["shut_down", "hung"])
def test_reserve_pay_and_cancel_answer_while_redis_is_down_and_each_effect_happens_once(
    outage, redis_server, mailbox, services
):
    started = time.monotonic()
    soon = timezone.localdate() + dt.timedelta(days=10)
    therapist = licensed_therapist("NY")
    free = GroupFactory(price=Decimal("0"), therapist=therapist, capacity=3)
    paid = GroupFactory(
        price=Decimal("320.00"), therapist=therapist, capacity=3, starts_on=soon, weekday=soon.weekday()
    )
    carl, ana, ben, dana = (web_member() for _ in range(4))
    env = app_env(database_url=database_url_for_this_test(), redis_url=redis_server.url, mailbox=mailbox)
    web = services.gunicorn(env, workers=2, threads=4)
    worker = services.worker(env, concurrency=2)
    ready = time.monotonic() - started

    # Before: the web serves, the worker delivers.
    before = web.browser()
    before.sign_in(carl.email)
    assert before.reserve(free.slug).status == 302
    wait_until(lambda: mailbox.to(carl.email), timeout=30, what="the email before the outage")
    a, b, d = web.browser(), web.browser(), web.browser()
    a.sign_in(ana.email)
    d.sign_in(dana.email)

    took: dict[str, float] = {}

    def quick(step: str, call) -> Answer:
        try:
            answer = call(QUICK + 1)
        except TimeoutError:
            pytest.fail(
                f"{step}: no answer within {QUICK + 1:.0f}s while Redis was {outage} (before: {took})"
            )
        took[step] = round(answer.seconds, 2)
        return answer

    down, down_at = time.monotonic(), timezone.now()
    if outage == "hung":
        redis_server.pause()
    else:
        redis_server.stop()
    try:
        quick("sign_in", lambda t: b.sign_in(ben.email, timeout=t))
        answer = quick("reserve_free", lambda t: a.reserve(free.slug, timeout=t))
        assert answer.status == 302 and answer.location.endswith(f"/reservations/{answer.reservation_id()}/")
        answer = quick("reserve_paid", lambda t: b.reserve(paid.slug, timeout=t))
        assert answer.status == 302 and answer.location.endswith("/pay/"), answer.location
        held = answer.reservation_id()
        answer = quick("pay", lambda t: b.submit(f"/reservations/{held}/pay/", timeout=t))
        assert answer.status == 302 and answer.location.endswith(f"/reservations/{held}/"), answer.location
        assert Reservation.objects.get(pk=held).status == Reservation.Status.CONFIRMED
        answer = quick("cancel", lambda t: b.submit(f"/reservations/{held}/cancel/", timeout=t))
        assert answer.status == 302 and answer.location.endswith("/my/"), answer.location
        slow = {step: seconds for step, seconds in took.items() if seconds > QUICK}
        assert not slow, f"answers slower than {QUICK}s while Redis was {outage}: {slow}"

        # Nothing went out and nothing is lost: every effect waits in the outbox.
        assert Reservation.objects.get(pk=held).status == Reservation.Status.CANCELLED
        payment = Payment.objects.get(reservation_id=held)
        refund = Refund.objects.get(payment=payment)
        assert payment.status == Payment.Status.PAID and refund.status == Refund.Status.PENDING
        assert payment.amount_refunded == Decimal("320.00")
        waiting = OutboxMessage.objects.filter(created_at__gte=down_at)
        assert waiting.count() >= 4 and not waiting.exclude(status="pending", attempts=0).exists()
        assert {m.to for m in mailbox.emails()} == {carl.email}
        if outage == "shut_down":
            # The worker noticed (it is retrying) before Redis comes back.
            wait_until(
                lambda: (
                    "Cannot connect to" in worker.output() or "Connection to broker lost" in worker.output()
                ),
                timeout=20,
                what="the worker to notice the broker is gone",
            )
    finally:
        outage_s = time.monotonic() - down
        connected = worker.output().count("Connected to ")
        if outage == "hung":
            redis_server.resume()
        else:
            redis_server.start()
    back = time.monotonic()

    # Redis is back: the worker goes on by itself (reconnecting after a shut down), and a new
    # effect is delivered at once.
    if outage == "shut_down":
        wait_until(
            lambda: worker.output().count("Connected to ") > connected,
            timeout=45,
            interval=0.2,
            what="the worker to reconnect to Redis",
        )
    reconnected = time.monotonic() - back
    # A web process that failed to reach the broker leaves it alone for BROKER_DOWN_SECONDS
    # (tests.faults.fault_settings: 2 s) so that only one request pays a broker timeout; after
    # that pause a new effect is queued at once again.
    time.sleep(max(0.0, down + outage_s + BROKER_PAUSE - time.monotonic()))
    assert d.reserve(free.slug).status == 302
    wait_until(lambda: mailbox.to(dana.email), timeout=20, what="an email queued after Redis came back")

    # The sweeper delivers the backlog, each once.
    with celery_publishing_to(redis_server.url) as app:
        swept = settle_outbox(app, connection.cursor, timeout=60)
    with connection.cursor() as cursor:
        figures = check_invariants(cursor, mailbox)
        retried = outbox_retried(cursor)
    assert sorted(mailbox.to(carl.email)) == ["Your seat is confirmed"]
    assert sorted(mailbox.to(ana.email)) == ["Your seat is confirmed"]
    assert sorted(mailbox.to(dana.email)) == ["Your seat is confirmed"]
    assert sorted(mailbox.to(ben.email)) == [
        "Refund of $320.00",
        "Your reservation is cancelled",
        "Your seat is confirmed",
    ]
    assert Refund.objects.get(pk=refund.pk).status == Refund.Status.SUCCEEDED
    assert Refund.objects.count() == 1
    assert not OutboxMessage.objects.exclude(status="done").exists()
    report(
        f"redis_{outage}",
        setup_s=round(ready, 1),
        while_down_s=took,
        outage_s=round(outage_s, 1),
        worker_back_s=round(reconnected, 1),
        backlog_swept_s=round(swept, 1),
        outbox_retried=retried,
        total_s=round(time.monotonic() - started, 1),
        **figures,
    )
