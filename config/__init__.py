"""The project's wiring, above every app: settings, the URL confs, the Celery app, WSGI/ASGI
and gunicorn's configuration. Nothing in an app imports it."""

from .celery import app as celery_app

__all__ = ("celery_app",)
