"""The Celery app: ``celery -A config worker`` and ``celery -A config beat``.

The beat schedule lives here and only here. Reminders come from a job that reads the
database every few minutes: nothing is queued days ahead, because a Redis broker
re-delivers any task older than its visibility timeout.
"""

import os

from celery import Celery
from celery.schedules import crontab
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("grouport")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    # Delivers every side effect (email, refund, alert) the queue missed: a broker outage,
    # a worker that died. See grouport/outbox.py.
    "sweep-outbox": {"task": "grouport.tasks.sweep_outbox", "schedule": 60},
    # An alert nobody took rings more people (care/oncall.py): checked every minute.
    "escalate-safety-alerts": {"task": "care.tasks.escalate_safety_alerts", "schedule": 60},
    "send-due-reminders": {"task": "attendance.tasks.send_due_reminders", "schedule": 5 * 60},
    "refresh-seats": {"task": "enrollment.tasks.refresh_all_seats", "schedule": 60},
    "close-ended-sessions": {"task": "attendance.tasks.close_ended_sessions", "schedule": 5 * 60},
    "outcome-questionnaires": {"task": "care.tasks.open_outcome_questionnaires", "schedule": 15 * 60},
    "extend-sessions": {"task": "groups.tasks.sync_running_groups", "schedule": crontab(hour=3, minute=17)},
    "expire-api-tokens": {"task": "grouport.tasks.expire_api_tokens", "schedule": crontab(minute=41)},
}


@task_prerun.connect(weak=False, dispatch_uid="grouport.database_before_task")
@task_postrun.connect(weak=False, dispatch_uid="grouport.database_after_task")
def database_connection_checked(task=None, **kwargs) -> None:
    """Around every task, what Django does around every request: drop a connection that
    broke or outlived ``CONN_MAX_AGE``, and health-check the next use (``CONN_HEALTH_CHECKS``).

    Celery's own handling closes connections only every ``CELERY_DB_REUSE_MAX`` tasks (a new
    connection per task halved a worker's rate), so after PostgreSQL restarted every task
    failed with "connection already closed" until someone restarted the worker by hand.
    Now the next task reconnects.
    """
    if task is not None and getattr(task.request, "is_eager", False):
        return  # run inline in a request: the request's own handling applies
    from django.db import close_old_connections

    close_old_connections()
