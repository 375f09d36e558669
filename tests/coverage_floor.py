"""After ``make coverage``: fail when any module of ours is covered below the floor.

coverage's own ``fail_under`` ([tool.coverage.report]) checks the total; a total can hide a
module nobody tests. This reads the combined data (as coverage's JSON report, so the same
files and omissions as the report) and lists every module under
``[tool.grouport.coverage] module_floor`` (statements and branches, as coverage counts them).

    .venv/bin/python -m tests.coverage_floor
"""

import json
import sys
import tempfile
import tomllib
from pathlib import Path

import coverage

from tests.project import ROOT


def main() -> int:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    floor = config["tool"]["grouport"]["coverage"]["module_floor"]
    cov = coverage.Coverage(config_file=str(ROOT / "pyproject.toml"))
    cov.load()
    with tempfile.TemporaryDirectory() as work:
        report = Path(work) / "coverage.json"
        cov.json_report(outfile=str(report))
        files = json.loads(report.read_text())["files"]
    below = sorted(
        (summary["percent_covered"], path)
        for path, summary in ((p, f["summary"]) for p, f in files.items())
        if summary["num_statements"] and summary["percent_covered"] < floor
    )
    for percent, path in below:
        print(f"{percent:5.1f}%  {path}")
    if below:
        print(f"{len(below)} modules below the floor of {floor}%")
        return 1
    print(f"every module is at or above {floor}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
