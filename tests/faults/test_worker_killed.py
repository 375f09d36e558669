"""A Celery worker killed with ``kill -9`` in the middle of a batch of emails.

Sixty members' seats are confirmed while no worker runs: sixty outbox emails wait, each with
its delivery task queued on a throw-away Redis. A prefork worker starts on them and is killed
(SIGKILL, its whole process group, as a container is killed) once about a third have gone
out. A fresh worker starts, and the sweeper runs (queued as beat would) once the dead
worker's lease is over. Every message ends done or failed; failed only those the dead worker
had claimed and not finished ("sending" when it died), which are never sent again (an email
is not ``retry_safe``); no member gets the email twice, and every other member gets it once.
"""

import time
from collections import Counter
from decimal import Decimal

import pytest
from django.db import connection

from enrollment.models import Reservation
from enrollment.services.reservations import reservation_confirm, reservation_hold
from grouport.models import OutboxMessage
from tests.factories import ALL_TRUE, GroupFactory, licensed_therapist, member
from tests.faults.harness import (
    LEASE_SECONDS,
    app_env,
    celery_publishing_to,
    check_invariants,
    database_url_for_this_test,
    others_connected,
    report,
    settle_outbox,
    wait_until,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

BATCH = 60
KILL_AFTER = 20  # emails out when the worker is killed


def test_a_worker_killed_mid_batch_leaves_no_message_stuck_and_no_email_twice(
    redis_server, mailbox, services
):
    started = time.monotonic()
    group = GroupFactory(price=Decimal("0"), therapist=licensed_therapist("NY"), capacity=BATCH)
    members = [member() for _ in range(BATCH)]
    with celery_publishing_to(redis_server.url) as app:
        for who in members:
            reservation_confirm(
                reservation=reservation_hold(member=who, group=group, attestations=ALL_TRUE), actor=who
            )
        assert OutboxMessage.objects.filter(status="pending").count() == BATCH
        queued = time.monotonic() - started

        env = app_env(database_url=database_url_for_this_test(), redis_url=redis_server.url, mailbox=mailbox)
        first = services.worker(env, name="worker-killed", concurrency=2)
        # Killed once a third is out, at a moment a delivery is under way (claimed, not done).
        wait_until(
            lambda: mailbox.files() >= KILL_AFTER and OutboxMessage.objects.filter(status="sending").exists(),
            timeout=60,
            interval=0.002,
            what="the batch to be a third out",
        )
        first.kill()
        assert not first.alive()

        def quiet() -> bool:
            with connection.cursor() as cursor:
                return others_connected(cursor) == 0

        wait_until(quiet, timeout=10, interval=0.05, what="the dead worker's sessions to end")
        at_kill = dict(OutboxMessage.objects.values_list("pk", "status"))
        emails_at_kill = len(mailbox.emails())
        by_status = dict(Counter(at_kill.values()))
        assert by_status.get("pending", 0) > 0 and by_status.get("done", 0) < BATCH, by_status

        services.worker(env, name="worker-fresh", concurrency=2)
        swept = settle_outbox(app, connection.cursor, timeout=LEASE_SECONDS + 40)

    with connection.cursor() as cursor:
        figures = check_invariants(cursor, mailbox)
    final = dict(OutboxMessage.objects.values_list("pk", "status"))
    sending_at_kill = {pk for pk, status in at_kill.items() if status == "sending"}
    failed = {pk for pk, status in final.items() if status == "failed"}
    # Failed: exactly the deliveries the dead worker had begun, given up on after its lease.
    assert failed == sending_at_kill, (failed, sending_at_kill)
    for message in OutboxMessage.objects.filter(pk__in=failed):
        assert message.last_error == "worker stopped while delivering" and message.attempts == 1
    # Every member whose message is done has the email exactly once; none has it twice.
    emailed = {e.to for e in mailbox.emails()}
    assert len(mailbox.emails()) == len(emailed)
    address_of = dict(Reservation.objects.filter(group=group).values_list("pk", "member__email"))
    for message in OutboxMessage.objects.filter(status="done"):
        assert address_of[message.payload["reservation"]] in emailed, message.pk
    mid_send = {address_of[m.payload["reservation"]] for m in OutboxMessage.objects.filter(pk__in=failed)}
    assert BATCH - len(failed) <= len(emailed) <= BATCH
    report(
        "worker_killed",
        batch=BATCH,
        queued_s=round(queued, 1),
        at_kill=by_status,
        emails_at_kill=emails_at_kill,
        mid_send=len(mid_send),
        mid_send_emailed=len(mid_send & emailed),
        settled_s=round(swept, 1),
        total_s=round(time.monotonic() - started, 1),
        **figures,
    )
