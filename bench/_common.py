"""What the benchmarks share: refusing SQLite, a database of their own, percentiles.

Import it after ``django.setup()``.
"""

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
