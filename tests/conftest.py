"""Shared fixtures. The suite runs on PostgreSQL (``make test`` starts one when needed)."""

import os

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from grouport.celery import app as celery_app


def pytest_configure(config: pytest.Config) -> None:
    # Tests run tasks inline unless a test starts a real worker itself.
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    engine = settings.DATABASES["default"]["ENGINE"]
    if "postgresql" in engine:
        return
    if os.environ.get("CI") == "true" and not config.getoption("-m"):
        raise pytest.UsageError("CI must run the suite on PostgreSQL; DATABASE_URL points elsewhere.")
    skip = pytest.mark.skip(reason="needs PostgreSQL")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def on_postgres() -> bool:
    return connection.vendor == "postgresql"


@pytest.fixture(autouse=True)
def _site_defaults(settings) -> None:
    settings.SERVICE_STATES = ("FL", "NY", "NJ")
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    # A fast hash: the suite creates many accounts (production keeps Django's default).
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Rate limits (login throttles) count in the cache: start every test from zero.
    cache.clear()
