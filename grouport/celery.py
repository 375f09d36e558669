"""The Celery app: ``celery -A grouport worker`` and ``celery -A grouport beat``."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "grouport.settings")

app = Celery("grouport")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
