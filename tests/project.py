"""The project's own packages, read from the one list import-linter checks (pyproject.toml),
so a new app is covered by every test that walks the apps the day it is added."""

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES: tuple[str, ...] = tuple(
    tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["root_packages"]
)
# The Django apps among them: every package but the wiring (config), which holds no models.
APPS: tuple[str, ...] = tuple(p for p in PACKAGES if p != "config")
