"""Compare a benchmark at an earlier commit with the working tree, alternately, in one session.

    .venv/bin/python bench/compare.py REV SCRIPT [--rounds N] [--threshold T] [-- SCRIPT-ARGS...]
    .venv/bin/python bench/SCRIPT.py --compare REV [--rounds N] [--threshold T] [SCRIPT-ARGS...]

SCRIPT is catalog, reminders, reports or reserve. The commit REV is checked out into a
temporary ``git worktree`` (``git worktree add --detach``), and the working tree's
``bench/*.py`` files are copied over that tree's ``bench/``: both sides run the *current*
benchmark script, one against REV's code (that tree is its project root: its apps, its
migrations, its ``tests/factories.py``, served by gunicorn or Celery from there) and one
against the working tree's, uncommitted changes included. The old commit's own scripts are
never run, so a benchmark that was broken at REV can still measure REV. The scripts adapt
to a few older schemas (DRF tokens before knox, attendance without ``source``, reservations
without ``end_reason``); a REV much older than the benchmark may still not run, and the
comparer then says so and shows the tail of that run's output.

Both sides use this virtualenv's Python and the same PostgreSQL server (``DATABASE_URL``;
without it, a throw-away one started here once for all runs, as ``tests.services`` does),
and run alternately, REV first: A B A B ... (``--rounds`` runs each, 3 by default). Each run
ends with one ``BENCH-JSON {...}`` line; the table gives, for each figure, the median of each
side (with the range over the runs), the ratio current / REV, and a verdict. A timing is
WORSE when more than ``--threshold`` (20% by default) worse than at REV: above 1.2x for a
time, below 0.8x for a rate. A count (queries) is WORSE when it grows at all: it is exact.
Figures without a direction (the SQL floor's rate, the catalog's size ratio) are shown only.

Exit status: 0 when nothing is worse and every run of the working tree passed its checks;
1 when a figure is worse or a current run failed a check; 2 when a side could not be run
(a bad REV, a crash, no BENCH-JSON line). The worktree is removed at the end, whatever
happened.
"""

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
SCRIPTS = ("catalog", "reminders", "reports", "reserve")
JSON_PREFIX = "BENCH-JSON "  # as bench/_common.py prints it


def git(*args: str) -> str:
    done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        print(f"git {' '.join(args)} failed: {done.stderr.strip()}", file=sys.stderr)
        raise SystemExit(2)
    return done.stdout.strip()


def strip_options(argv: Sequence[str], names: Sequence[str]) -> list[str]:
    """``argv`` without the options ``names`` and their values (``--x V`` and ``--x=V``)."""
    kept, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg in names:
            skip = True
        elif not any(arg.startswith(name + "=") for name in names):
            kept.append(arg)
    return kept


def parse_record(output: str) -> dict | None:
    """The last ``BENCH-JSON`` record in a run's output, or None."""
    for line in reversed(output.splitlines()):
        if line.startswith(JSON_PREFIX):
            try:
                return json.loads(line[len(JSON_PREFIX) :])
            except ValueError:
                return None
    return None


def verdict(figure: dict, old: float, new: float, threshold: float) -> str:
    """``WORSE``, ``better`` or ``same`` for one figure, median at REV against median now."""
    better = figure.get("better")
    if better not in ("lower", "higher") or old is None or new is None:
        return ""
    if figure.get("exact"):
        if new == old:
            return "same"
        worse = new > old if better == "lower" else new < old
        return "WORSE" if worse else "better"
    if old == 0:
        return "same" if new == 0 else ("WORSE" if better == "lower" else "better")
    ratio = new / old
    if better == "lower":
        return "WORSE" if ratio > 1 + threshold else ("better" if ratio < 1 / (1 + threshold) else "same")
    return "WORSE" if ratio < 1 - threshold else ("better" if ratio > 1 / (1 - threshold) else "same")


@contextmanager
def worktree(rev: str) -> Iterator[tuple[Path, str]]:
    """REV checked out in a temporary worktree, with the working tree's bench scripts in it."""
    sha = git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    work = Path(tempfile.mkdtemp(prefix="grouport-compare-"))
    tree = work / "tree"
    try:
        git("worktree", "add", "--detach", str(tree), sha)
        (tree / "bench").mkdir(exist_ok=True)
        for path in BENCH.glob("*.py"):
            shutil.copy2(path, tree / "bench" / path.name)
        yield tree, sha
    finally:
        if tree.exists():
            removed = subprocess.run(
                ["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, capture_output=True, text=True
            )
            if removed.returncode != 0:
                print(f"could not remove the worktree {tree}: {removed.stderr.strip()}", file=sys.stderr)
        shutil.rmtree(work, ignore_errors=True)


def run_once(
    tree: Path, script: str, args: list[str], env: dict, log: Path
) -> tuple[dict | None, int, float]:
    command = [sys.executable, str(tree / "bench" / f"{script}.py"), *args]
    started = time.monotonic()
    with log.open("w") as out:
        code = subprocess.call(command, cwd=tree, env=env, stdout=out, stderr=subprocess.STDOUT)
    return parse_record(log.read_text(errors="replace")), code, time.monotonic() - started


def tail(path: Path, lines: int = 40) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def number(value: float | None) -> str:
    if value is None:
        return "–"
    if value == int(value) and abs(value) >= 1:
        return f"{int(value):,}"
    return f"{value:,.1f}" if abs(value) >= 10 else f"{value:.2f}"


def cell(values: list[float]) -> str:
    if not values:
        return "–"
    middle = number(statistics.median(values))
    if len(values) == 1 or min(values) == max(values):
        return middle
    return f"{middle} ({number(min(values))}–{number(max(values))})"


def table(records: dict[str, list[dict]], labels: dict[str, str], threshold: float) -> tuple[list[str], int]:
    """The lines of the comparison table and how many figures are WORSE."""
    names: list[str] = []
    meta: dict[str, dict] = {}
    for side in ("old", "new"):
        for record in records[side]:
            for name, figure in record["figures"].items():
                if name not in meta:
                    names.append(name)
                    meta[name] = figure
    rows = [("figure", "unit", labels["old"], labels["new"], "new/old", "verdict")]
    worse = 0
    for name in names:
        old = [r["figures"][name]["value"] for r in records["old"] if name in r["figures"]]
        new = [r["figures"][name]["value"] for r in records["new"] if name in r["figures"]]
        old_median = statistics.median(old) if old else None
        new_median = statistics.median(new) if new else None
        ratio = (
            f"{new_median / old_median:.2f}x"
            if old_median and new_median is not None and math.isfinite(new_median / old_median)
            else "–"
        )
        said = verdict(meta[name], old_median, new_median, threshold)
        worse += said == "WORSE"
        rows.append((name, meta[name]["unit"], cell(old), cell(new), ratio, said))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for k, row in enumerate(rows):
        lines.append(
            "  ".join(
                text.ljust(width) if i in (0, 1, 5) else text.rjust(width)
                for i, (text, width) in enumerate(zip(row, widths, strict=True))
            ).rstrip()
        )
        if k == 0:
            lines.append("-" * len(lines[0]))
    return lines, worse


def compare(
    script: str, rev: str, args: list[str], rounds: int = 3, threshold: float = 0.2, logs: str | None = None
) -> int:
    if script not in SCRIPTS:
        raise SystemExit(f"unknown benchmark {script!r}: one of {', '.join(SCRIPTS)}")
    if rounds < 1:
        raise SystemExit("--rounds must be at least 1")
    head = git("rev-parse", "--short", "HEAD")
    dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    with ExitStack() as stack:
        # Each side's script names its own settings module (it moved from grouport.settings
        # to config.settings once): none is inherited from this process.
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DJANGO_SETTINGS_MODULE")}
        wants_redis = script == "reminders" and "--no-worker" not in args
        if not env.get("DATABASE_URL") or (wants_redis and not env.get("REDIS_URL")):
            # One set of throw-away servers for every run of both sides.
            sys.path.insert(0, str(ROOT))
            from tests.services import start_postgres, start_redis

            if not env.get("DATABASE_URL"):
                env["DATABASE_URL"] = start_postgres(stack)
            if wants_redis and not env.get("REDIS_URL"):
                env["REDIS_URL"] = start_redis(stack)
        if logs:
            log_dir = Path(logs)
            log_dir.mkdir(parents=True, exist_ok=True)
        else:
            log_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="grouport-compare-logs-")))
        tree, sha = stack.enter_context(worktree(rev))
        old_label = sha[:7] if sha.startswith(rev) else f"{rev} ({sha[:7]})"
        labels = {"old": old_label, "new": f"now ({head}{' + changes' if dirty else ''})"}
        trees = {"old": tree, "new": ROOT}
        command = " ".join([f"bench/{script}.py", *args])
        print(
            f"comparing {command} at {labels['old']} (worktree {tree}) "
            f"and on the working tree {labels['new']}: {rounds} round(s), alternately",
            flush=True,
        )
        records: dict[str, list[dict]] = {"old": [], "new": []}
        failed: dict[str, list[str]] = {"old": [], "new": []}
        for round_ in range(1, rounds + 1):
            for side in ("old", "new"):
                log = log_dir / f"{script}-{side}-{round_}.log"
                record, code, seconds = run_once(trees[side], script, args, env, log)
                state = "ok" if record and code == 0 else f"exit {code}"
                if record and not record["ok"]:
                    state += ", FAILED " + ", ".join(k for k, v in record["checks"].items() if not v)
                print(f"  round {round_}/{rounds} {labels[side]}: {seconds:.0f}s, {state}", flush=True)
                if record is None:
                    failed[side].append(f"round {round_}: exit {code}, no BENCH-JSON line:\n{tail(log)}")
                    continue
                records[side].append(record)
                if code != 0 or not record["ok"]:
                    bad = [k for k, v in record["checks"].items() if not v]
                    failed[side].append(f"round {round_}: exit {code}, failed checks: {bad or 'none'}")
            if not records["old"] and failed["old"] and round_ == 1:
                break  # REV cannot be run: no point going on

    print()
    if not records["old"] or not records["new"]:
        for side in ("old", "new"):
            for message in failed[side]:
                print(f"{labels[side]}: {message}\n")
        print("COMPARISON IMPOSSIBLE: a side produced no figures")
        return 2
    lines, worse = table(records, labels, threshold)
    command = " ".join([f"bench/{script}.py", *args])
    print(f"{command}: median of each side's runs (min–max); threshold {threshold:.0%}")
    print("\n".join(lines))
    for side in ("old", "new"):
        for message in failed[side]:
            print(f"\n{labels[side]}: {message}")
    print()
    current_failed = bool(failed["new"])
    print(
        f"figures worse than at {rev}: {worse}; working tree's checks: {'FAIL' if current_failed else 'PASS'}"
    )
    return 1 if worse or current_failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("rev", help="the git commit to compare with (HEAD~1, a tag, a sha)")
    parser.add_argument("script", choices=SCRIPTS, help="the benchmark")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each side, alternately")
    parser.add_argument("--threshold", type=float, default=0.2, help="how much worse a timing may be")
    parser.add_argument("--logs", help="keep every run's output in this directory")
    parser.epilog = "Options after -- (or any this runner does not know) are passed on to the script."
    argv = sys.argv[1:]
    own, passed_on = (argv[: argv.index("--")], argv[argv.index("--") + 1 :]) if "--" in argv else (argv, [])
    args, unknown = parser.parse_known_args(own)
    return compare(args.script, args.rev, [*unknown, *passed_on], args.rounds, args.threshold, args.logs)


if __name__ == "__main__":
    sys.exit(main())
