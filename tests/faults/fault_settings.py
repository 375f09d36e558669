"""The product's settings, for the fault suite's subprocesses, with a short outbox lease.

``OUTBOX_LEASE_MINUTES`` (10) and ``OUTBOX_GRACE_SECONDS`` (10) are plain constants in
``config/settings/__init__.py``, not read from the environment. A fault test cannot wait
ten minutes for a dead worker's lease, so its web and worker processes load this module
(``DJANGO_SETTINGS_MODULE=tests.faults.fault_settings``), which changes those two values and
nothing else.
"""

import os

from config.settings import *  # noqa: F403

OUTBOX_LEASE_MINUTES = float(os.environ.get("FAULTS_OUTBOX_LEASE_SECONDS", "600")) / 60
OUTBOX_GRACE_SECONDS = float(os.environ.get("FAULTS_OUTBOX_GRACE_SECONDS", "10"))
# A broker that failed is tried again after this (grouport/outbox.py); the Redis tests wait
# for it once Redis is back rather than for the minute-long sweep.
BROKER_DOWN_SECONDS = float(os.environ.get("FAULTS_BROKER_DOWN_SECONDS", "2"))
