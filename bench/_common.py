"""What the benchmarks share: refusing SQLite, a database of their own, percentiles, and the
figures line (``BENCH-JSON``), ``--quick`` and ``--compare`` that every script has.

Import it after ``django.setup()``.
"""

import argparse
import json
import math
import os
import platform
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import django
from django.db import connection
from django.utils import timezone


def require_postgres(script: str) -> bool:
    """Say why and return False unless the default database is PostgreSQL."""
    if connection.vendor == "postgresql":
        return True
    print(
        f"{script} needs PostgreSQL, not {connection.vendor}: SQLite figures say nothing "
        "about production. Set DATABASE_URL to a PostgreSQL server (the benchmark creates and "
        "drops a database of its own there), or run it under throw-away servers:\n"
        f"    .venv/bin/python -m tests.services .venv/bin/python {script}",
        file=sys.stderr,
    )
    return False


@contextmanager
def bench_database() -> Iterator[str]:
    """Create ``grouport_bench_<pid>`` on the server, migrate it, and drop it at the end.

    Django's default connection points at it inside the block; the database that
    ``DATABASE_URL`` names is only used to connect to the server and is never written to.
    """
    bench_name = f"grouport_bench_{os.getpid()}"
    original_name = connection.settings_dict["NAME"]
    connection.settings_dict["TEST"]["NAME"] = bench_name
    try:
        connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
        connection.ensure_connection()
        info = connection.connection.info
        print(
            f"database {bench_name} created on {info.host}:{info.port} "
            f"(PostgreSQL {connection.pg_version // 10000}.{connection.pg_version % 10000}); "
            f"Python {platform.python_version()}, Django {django.get_version()}, "
            f"{os.cpu_count()} CPUs (load {os.getloadavg()[0]:.2f}), {timezone.now():%Y-%m-%d %H:%M} UTC",
            flush=True,
        )
        yield bench_name
    finally:
        # Only ever drop the database this run created.
        if connection.settings_dict["NAME"] == bench_name:
            connection.creation.destroy_test_db(original_name, verbosity=0)
            print(f"\ndropped database {bench_name}")


def database_url(name: str) -> str:
    """``DATABASE_URL`` with its database swapped for ``name`` (for servers and pgbench).

    Works for host URLs and for the socket form the embedded server gives
    (``postgresql://postgres:@/postgres?host=/tmp/...``); libpq reads both.
    """
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path=f"/{name}"))


def percentile(samples: list[float], pct: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


# --- Figures, quick mode and --compare ------------------------------------------------------

JSON_PREFIX = "BENCH-JSON "


class Figures:
    """What a run measured and what it checked, printed last as one ``BENCH-JSON {...}`` line.

    A figure is a number with its unit and which way is better (``"lower"``, ``"higher"``,
    or ``None`` for context that is never judged, such as the SQL floor's rate). ``exact``
    marks counts (queries) that do not vary run to run: ``bench/compare.py`` flags those
    when they grow at all, and timings only beyond its threshold. A check is a correctness
    condition: the script exits 1 when one fails.
    """

    def __init__(self, bench: str, quick: bool) -> None:
        self.bench = bench
        self.quick = quick
        self.figures: dict[str, dict] = {}
        self.checks: dict[str, bool] = {}

    def add(
        self, name: str, value: float, unit: str, better: str | None = "lower", exact: bool = False
    ) -> None:
        self.figures[name] = {"value": round(float(value), 3), "unit": unit, "better": better, "exact": exact}

    def check(self, name: str, ok: bool) -> bool:
        self.checks[name] = bool(ok)
        return bool(ok)

    @property
    def ok(self) -> bool:
        return all(self.checks.values())

    def emit(self) -> None:
        record = {
            "bench": self.bench,
            "quick": self.quick,
            "ok": self.ok,
            "checks": self.checks,
            "figures": self.figures,
        }
        print(JSON_PREFIX + json.dumps(record), flush=True)


def add_run_options(parser: argparse.ArgumentParser, quick: str) -> None:
    """The options every benchmark has: ``--quick`` (described by ``quick``) and ``--compare``."""
    parser.add_argument("--quick", action="store_true", help=f"small and fast, correctness only: {quick}")
    parser.add_argument(
        "--compare",
        metavar="REV",
        help="run this benchmark at git commit REV and on the working tree alternately, and compare "
        "(see bench/compare.py; the other options are passed on to every run)",
    )
    parser.add_argument("--rounds", type=int, default=3, help="with --compare: runs of each side")
    parser.add_argument(
        "--threshold",
        type=float,
        default=0.2,
        help="with --compare: how much worse a timing may be (0.2: 20%%)",
    )


def compare_from_script(script: str, args: argparse.Namespace) -> int:
    """``<script> --compare REV``: hand over to ``bench/compare.py`` with the other options."""
    from bench import compare

    passed_on = compare.strip_options(sys.argv[1:], ("--compare", "--rounds", "--threshold"))
    return compare.compare(script, args.compare, passed_on, rounds=args.rounds, threshold=args.threshold)
