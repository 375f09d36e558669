"""Catalog benchmark: does listing groups stay as fast with 2,000 groups as with 20?

Loads published groups (therapists and their licenses, modules, weekly sessions) into a
database of its own, then times ``GET /api/groups/?state=NY`` and ``GET /`` in-process with
Django's test client, first with 20 groups and again after growing the catalog to 2,000.
It prints the median and p95 of each, the queries per request, and the 2,000/20 ratio
against the 1.5x target. A benchmark, not a test: it exits 0 whatever the ratio, but 1
when the queries per request are not the same at both sizes, and 2 without PostgreSQL.
``--quick`` measures 20 and 60 groups with 5 requests each (a few seconds), ``--profile``
adds a cProfile of each endpoint at 20 groups, ``--compare REV`` runs it alternately at an
earlier commit and now (bench/compare.py). The last line of its output is its figures as
JSON (``BENCH-JSON {...}``).

It needs PostgreSQL and never touches an existing database: it creates
``grouport_bench_<pid>`` on the server ``DATABASE_URL`` names, migrates it, and drops it
at the end. With no ``DATABASE_URL``, run it under the throw-away servers::

    .venv/bin/python -m tests.services .venv/bin/python bench/catalog.py

See docs/performance.md for the figures measured.
"""

import argparse
import cProfile
import datetime as dt
import io
import pstats
import random
import re
import statistics
import sys
import time

import _setup

ROOT = _setup.configure()

import django  # noqa: E402

django.setup()

from decimal import Decimal  # noqa: E402

from django.contrib.auth.hashers import make_password  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models import OuterRef, Subquery  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench._common import (  # noqa: E402
    Figures,
    add_run_options,
    bench_database,
    compare_from_script,
    percentile,
    require_postgres,
)
from grouport.models import User  # noqa: E402
from groups.models import (  # noqa: E402
    MODULE_ORDER,
    Group,
    GroupModule,
    GroupSession,
    License,
    Module,
    Therapist,
)
from groups.schedule import weekly_sessions  # noqa: E402
from groups.selectors import group_catalog  # noqa: E402

SMALL = 20
QUICK_GROUPS = 60
TARGET_RATIO = 1.5
WARMUP = 10
QUICK_WARMUP = 3
PROFILE_LINES = 40
THERAPIST_POOL = 200
FULL_PAGE = 20  # the API's page size
NY_PATTERNS = (0, 3, 4)  # LICENSE_PATTERNS with a New York license that outlasts any group

ENDPOINTS: list[tuple[str, str, dict[str, str]]] = [
    ("GET /api/groups/?state=NY", "/api/groups/", {"state": "NY"}),
    ("GET /", "/", {}),
]

TIME_ZONES = [
    "America/New_York",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
]

# (state, days the license still runs): NY, NJ and FL so the state filter has work to do,
# a NY license that lapses before most groups end, and one outside the service states.
LICENSE_PATTERNS: list[tuple[tuple[str, int], ...]] = [
    (("NY", 1095),),
    (("NJ", 1095),),
    (("FL", 1095),),
    (("NY", 1095), ("NJ", 1095)),
    (("FL", 1095), ("NY", 730)),
    (("NY", 45),),
    (("CA", 1095),),
    (("NJ", 730), ("FL", 1095)),
]


class Catalog:
    """Grows the catalog to a number of published groups, all still to meet."""

    def __init__(self, seed: int = 2026) -> None:
        self.rng = random.Random(seed)
        self.today = timezone.localdate()
        self.therapists: list[Therapist] = []
        self.size = 0

    def _ensure_therapists(self, count: int) -> None:
        new = range(len(self.therapists), min(count, THERAPIST_POOL))
        if not new:
            return
        password = make_password(None)
        users = User.objects.bulk_create(
            [User(email=f"bench-therapist-{k}@example.test", password=password, is_staff=True) for k in new]
        )
        therapists = Therapist.objects.bulk_create(
            [
                Therapist(
                    user=user, display_name=f"Therapist {k}", credentials="LCSW", bio="Leads DBT groups."
                )
                for k, user in zip(new, users, strict=True)
            ]
        )
        License.objects.bulk_create(
            [
                License(
                    therapist=therapist,
                    state=state,
                    number=f"{state}-{k:05d}",
                    expires_on=self.today + dt.timedelta(days=days),
                )
                for k, therapist in zip(new, therapists, strict=True)
                for state, days in LICENSE_PATTERNS[k % len(LICENSE_PATTERNS)]
            ]
        )
        self.therapists.extend(therapists)

    def _therapist_for(self, index: int) -> Therapist:
        # The first FULL_PAGE groups are all open to a New York resident, so the small
        # catalog fills a whole API page too and both sizes serialize the same number of rows.
        if index < FULL_PAGE:
            ny_ready = [k for k in range(len(self.therapists)) if k % len(LICENSE_PATTERNS) in NY_PATTERNS]
            return self.therapists[ny_ready[index % len(ny_ready)]]
        return self.therapists[index % THERAPIST_POOL]

    def _group(self, index: int) -> tuple[Group, list[str]]:
        rng = self.rng
        kind = Group.Kind.SKILLS if index % 3 == 2 else Group.Kind.THERAPY
        weekday = rng.randrange(7)
        starts_on = self.today + dt.timedelta(days=rng.randrange(2, 120))
        starts_on += dt.timedelta(days=(weekday - starts_on.weekday()) % 7)
        weeks = rng.choice((4, 6, 8, 8, 12, 16))
        group = Group(
            title=f"Bench {kind.label} {index}",
            slug=f"bench-group-{index:05d}",
            kind=kind,
            description="A weekly online DBT group, loaded by the catalog benchmark.",
            therapist=self._therapist_for(index),
            weekday=weekday,
            start_time=dt.time(rng.randrange(8, 21), rng.choice((0, 30))),
            time_zone=rng.choice(TIME_ZONES),
            duration_minutes=rng.choice((60, 90, 120)),
            starts_on=starts_on,
            weeks=weeks,
            capacity=rng.randrange(6, 31),
            price=Decimal("0.00") if kind == Group.Kind.SKILLS else Decimal(rng.choice(("320.00", "450.00"))),
            status=Group.Status.PUBLISHED,
            video_url="https://video.example.com/room",
        )
        # bulk_create bypasses save(), which keeps ends_on.
        group.ends_on = group.first_session_on + dt.timedelta(weeks=weeks - 1)
        modules = sorted(rng.sample(Module.values, rng.randint(1, 5)), key=MODULE_ORDER.__getitem__)
        return group, modules

    def grow(self, size: int) -> None:
        """Add groups (and their therapists, modules and sessions) until there are ``size``."""
        self._ensure_therapists(size)
        planned = [self._group(index) for index in range(self.size, size)]
        with transaction.atomic():
            groups = Group.objects.bulk_create([group for group, _ in planned], batch_size=500)
            GroupModule.objects.bulk_create(
                [
                    GroupModule(group=group, module=module)
                    for group, (_, modules) in zip(groups, planned, strict=True)
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
                    for group, (_, modules) in zip(groups, planned, strict=True)
                    for slot in weekly_sessions(
                        first_on=group.first_session_on,
                        start_time=group.start_time,
                        time_zone=group.time_zone,
                        duration_minutes=group.duration_minutes,
                        weeks=group.weeks,
                        modules=modules,
                    )
                ],
                batch_size=2000,
            )
            # What group_sessions_sync keeps for each group: when its last session starts.
            Group.objects.filter(last_session_at__isnull=True).update(
                last_session_at=Subquery(
                    GroupSession.objects.filter(group=OuterRef("pk"))
                    .order_by("-starts_at")
                    .values("starts_at")[:1]
                )
            )
        # Planner statistics, as autovacuum would have gathered them on a live database.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        self.size = size


def fetch(client: Client, path: str, params: dict[str, str]):
    response = client.get(path, params)
    if response.status_code != 200:
        raise SystemExit(f"{path} {params} answered {response.status_code}: {response.content[:300]!r}")
    return response


def measure(
    client: Client, label: str, path: str, params: dict[str, str], requests: int, warmup: int
) -> dict:
    for _ in range(warmup):
        fetch(client, path, params)
    with CaptureQueriesContext(connection) as captured:
        response = fetch(client, path, params)
    # Copied now: every request clears the connection's query log (reset_queries).
    queries = list(captured.captured_queries)
    if path.startswith("/api/"):
        body = response.json()
        shown, matching = len(body["results"]), body["count"]
    else:
        shown = response.content.count(b'<article class="card"')
        matching = group_catalog().count()
        if not re.search(rb"Page 1 of \d+", response.content) and matching > shown:
            raise SystemExit("GET / lists more groups than it shows but has no pager")
    timings = []
    for _ in range(requests):
        started = time.perf_counter()
        fetch(client, path, params)
        timings.append((time.perf_counter() - started) * 1000)
    return {
        "label": label,
        "shown": shown,
        "matching": matching,
        "queries": queries,
        "median": statistics.median(timings),
        "p95": percentile(timings, 95),
    }


def profile(client: Client, label: str, path: str, params: dict[str, str], requests: int, size: int) -> None:
    """cProfile over ``requests`` requests (already warm): where the time of one goes."""
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(requests):
        fetch(client, path, params)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    total = stats.total_tt
    print(
        f"\n  profile of {label} at {size} groups: {requests} requests, {total / requests * 1000:.1f} ms each"
    )
    stats.sort_stats("cumulative").print_stats(PROFILE_LINES)
    stats.sort_stats("tottime").print_stats(PROFILE_LINES // 2)
    # Only the table of each listing: the header pstats prints first says nothing new.
    for block in out.getvalue().split("   Ordered by: ")[1:]:
        print("   Ordered by: " + "\n".join(line for line in block.splitlines() if line.strip()))


def print_queries(result: dict, size: int) -> None:
    print(f"\n  {result['label']} at {size} groups: {len(result['queries'])} queries")
    for query in result["queries"]:
        sql = " ".join(query["sql"].split())
        print(f"    {float(query['time']) * 1000:7.2f} ms  {sql[:150]}{'…' if len(sql) > 150 else ''}")


def run(args: argparse.Namespace, figures: Figures) -> None:
    client = Client()
    catalog = Catalog()
    warmup = QUICK_WARMUP if args.quick else WARMUP
    results: dict[int, list[dict]] = {}
    for size in (SMALL, args.groups):
        started = time.monotonic()
        catalog.grow(size)
        print(
            f"loaded {size} groups ({GroupSession.objects.count()} sessions, "
            f"{Therapist.objects.count()} therapists) in {time.monotonic() - started:.1f}s",
            flush=True,
        )
        results[size] = [
            measure(client, label, path, params, args.requests, warmup) for label, path, params in ENDPOINTS
        ]
        if args.profile and size == SMALL:
            for label, path, params in ENDPOINTS:
                profile(client, label, path, params, args.requests, size)

    print(f"\n{args.requests} timed requests each after {warmup} warm-up ones; times in ms\n")
    header = (
        f"{'endpoint':<27} {'groups':>6} {'shown':>5} {'matching':>8} {'queries':>7} {'median':>7} {'p95':>7}"
    )
    print(header)
    print("-" * len(header))
    for size, rows in results.items():
        for r in rows:
            print(
                f"{r['label']:<27} {size:>6} {r['shown']:>5} {r['matching']:>8} "
                f"{len(r['queries']):>7} {r['median']:>7.1f} {r['p95']:>7.1f}"
            )
            figures.add(f"{r['label']} @{size} median", r["median"], "ms")
            figures.add(f"{r['label']} @{size} p95", r["p95"], "ms")
            figures.add(f"{r['label']} @{size} queries", len(r["queries"]), "queries", exact=True)
    print()
    for small, large in zip(results[SMALL], results[args.groups], strict=True):
        ratio = large["median"] / small["median"]
        p95_ratio = large["p95"] / small["p95"]
        verdict = "PASS" if ratio <= TARGET_RATIO else "FAIL"
        same = figures.check(
            f"{small['label']} queries constant", len(small["queries"]) == len(large["queries"])
        )
        figures.add(f"{small['label']} {args.groups}/{SMALL} median ratio", ratio, "x", better=None)
        print(
            f"{small['label']:<27} {args.groups}/{SMALL} median {ratio:.2f}x (p95 {p95_ratio:.2f}x) "
            f"target <= {TARGET_RATIO}x: {verdict}; queries {'constant' if same else 'NOT constant'}"
        )
    print(
        "queries per request the same at both sizes: "
        + ("PASS" if all(figures.checks.values()) else "FAIL (they grow with the catalog)")
    )
    if args.show_queries:
        for size, rows in results.items():
            for r in rows:
                print_queries(r, size)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--groups", type=int, help=f"catalog size of the second phase (2,000; --quick {QUICK_GROUPS})"
    )
    parser.add_argument("--requests", type=int, help="timed requests per endpoint and size (50; --quick 5)")
    parser.add_argument(
        "--show-queries", action="store_true", help="print each request's SQL with its time, per size"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help=f"cProfile the timed requests of each endpoint at {SMALL} groups",
    )
    add_run_options(parser, f"{SMALL} and {QUICK_GROUPS} groups, 5 requests each")
    args = parser.parse_args()
    if args.groups is None:
        args.groups = QUICK_GROUPS if args.quick else 2000
    if args.requests is None:
        args.requests = 5 if args.quick else 50
    if args.groups <= SMALL:
        parser.error(f"--groups must be more than {SMALL}")
    if args.requests < 1:
        parser.error("--requests must be at least 1")

    if args.compare:
        return compare_from_script("catalog", args)
    if not require_postgres("bench/catalog.py"):
        return 2
    figures = Figures("catalog", args.quick)
    with bench_database():
        run(args, figures)
    print(f"\ncorrectness (queries constant): {'PASS' if figures.ok else 'FAIL'}")
    figures.emit()
    return 0 if figures.ok else 1


if __name__ == "__main__":
    sys.exit(main())
