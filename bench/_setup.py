"""Prepare a benchmark script to run Django: imported first, before anything of Django's.

A script run as ``python bench/<name>.py`` has ``bench/`` on its path, so it imports this
as ``_setup``; ``configure`` then puts the project root on the path and sets the settings
every benchmark measures with (production-like: no debug query log, the product's service
states), plus any extra environment the script needs.
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The project's wiring package: ``config`` now, ``grouport`` (settings, wsgi, the Celery app)
# before issue 18. ``--compare`` runs today's scripts in an older tree, so they ask.
WIRING = "config" if (ROOT / "config" / "settings").exists() else "grouport"


def configure(**environment: str) -> Path:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", f"{WIRING}.settings")
    os.environ["DEBUG"] = "false"
    os.environ["SERVICE_STATES"] = "FL,NY,NJ"
    os.environ.update(environment)
    return ROOT
