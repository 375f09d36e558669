"""Run every periodic job once, now: what Celery beat does on its schedule.

For `make run` and demos, which have no beat: after `demo_session_soon`, say, this closes
ended sessions, sends due reminders and opens due questionnaires. The jobs are the beat
schedule's (config/celery.py: the project's Celery app, current once settings load), run
by name; each is idempotent, so running it again does nothing new.
"""

from celery import current_app as app
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run each periodic job (the Celery beat schedule) once, in this process."

    def handle(self, *args, **options) -> None:
        app.loader.import_default_modules()
        for name, entry in app.conf.beat_schedule.items():
            result = app.tasks[entry["task"]].apply()
            self.stdout.write(f"{name}: {result.result!r}")
