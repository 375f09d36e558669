"""The shape of the code, checked: layers that import only downward, and statuses that change
only through their transition maps."""

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.apps import apps

from tests.project import APPS, PACKAGES, ROOT

pytestmark = pytest.mark.sqlite

LINT_IMPORTS = str(Path(sys.executable).with_name("lint-imports"))


def lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache"], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def test_the_layers_contract_is_kept():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Layers:" in result.stdout and "BROKEN" not in result.stdout


def test_no_import_is_excused_from_the_contracts():
    """Wiring lives in config/, historical migrations use frozen copies: nothing needs an
    exception, so none may be added quietly."""
    import tomllib

    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    assert [c["name"] for c in contracts if c.get("ignore_imports")] == []


# Each of these "up" imports existed before the layers were enforced; each must break the build
# again if it comes back, even hidden inside a function.
UP_IMPORTS = [
    ("groups/selectors.py", "from enrollment.selectors import seats_taken_subquery"),
    ("groups/admin.py", "from portal.roster import group_roster"),
    ("grouport/roles.py", "from groups.models import Therapist"),
    ("attendance/services/attendance.py", "from billing.models import Payment"),
    ("enrollment/views.py", "from billing.services import payment_paid_amount"),
    ("billing/services.py", "from reports.reports import report_revenue"),
    # Siblings stay independent: attendance, care and billing never import one another.
    ("attendance/services/checkin.py", "from care.models import SafetyAlert"),
    ("care/services.py", "from attendance.models import Attendance"),
    ("billing/services.py", "from attendance.models import Attendance"),
    ("portal/views.py", "from reports.reports import reports_all"),
    # Seats know nothing of the parts above them but through their ports.
    ("enrollment/services/reservations.py", "from attendance.calendar import seat_calendar_changes"),
    # The wiring is above every app: settings, URL confs and the Celery app are not for apps.
    ("grouport/management/commands/run_jobs.py", "from config.celery import app"),
    ("groups/views.py", "from config.urls import urlpatterns"),
    # Roles gather each app's permissions from its AppConfig, never by importing the app.
    ("grouport/roles.py", "from enrollment.apps import EnrollmentConfig"),
]


@pytest.mark.parametrize(("module", "statement"), UP_IMPORTS, ids=[m for m, _ in UP_IMPORTS])
def test_an_up_import_inside_a_function_breaks_the_contract(tmp_path, module, statement):
    for app in PACKAGES:
        shutil.copytree(ROOT / app, tmp_path / app, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / module
    target.write_text(target.read_text() + f"\n\ndef _sneaky():\n    {statement}\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0, result.stdout
    assert "BROKEN" in result.stdout


def _app_sources():
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" not in path.parts and path.name != "transitions.py":
                yield path


def test_no_status_is_assigned_outside_the_transition_helper():
    offences = []
    for path in _app_sources():
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            targets = []
            if isinstance(node, ast.Assign):
                targets = node.targets
            elif isinstance(node, ast.AugAssign | ast.AnnAssign):
                targets = [node.target]
            for target in targets:
                for element in target.elts if isinstance(target, ast.Tuple) else [target]:
                    if isinstance(element, ast.Attribute) and element.attr == "status":
                        offences.append(f"{path.relative_to(ROOT)}:{node.lineno} assigns .status")
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("update", "bulk_update")
                and any(k.arg == "status" for k in node.keywords)
            ):
                offences.append(f"{path.relative_to(ROOT)}:{node.lineno} updates status in bulk")
    assert offences == []


def test_every_status_field_has_a_complete_transition_map():
    checked = []
    for model in apps.get_models():
        if model._meta.app_label not in APPS:
            continue
        field = next((f for f in model._meta.fields if f.name == "status"), None)
        if field is None:
            continue
        choices = {value for value, _label in field.choices}
        transitions = getattr(model, "TRANSITIONS", None)
        assert transitions is not None, f"{model.__name__} has a status but no TRANSITIONS"
        assert set(transitions) == choices, model.__name__
        for targets in transitions.values():
            assert set(targets) <= choices, model.__name__
        checked.append(model.__name__)
    assert {"Reservation", "WaitlistEntry", "Payment", "Refund", "Reminder", "GroupSession", "Group"} <= set(
        checked
    )


def test_coverage_measures_every_package_import_linter_knows():
    """One list of the project's packages: a new app is measured the day it joins the layers."""
    import tomllib

    coverage = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["coverage"]["run"]["source"]
    assert sorted(coverage) == sorted(PACKAGES)
