"""Shared fixtures. The suite runs on PostgreSQL (``make test`` starts one when needed)."""

import os
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from config.celery import app as celery_app
from groups.models import Group
from tests import fake_stripe, fake_twilio
from tests.factories import GroupFactory, licensed_therapist, seated


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


@pytest.fixture(scope="session")
def django_db_modify_db_settings(tmp_path_factory) -> None:
    """On SQLite, test in a file rather than in memory, as the embedded default runs.

    An in-memory database is shared between threads through one cache with table locks, so
    requests racing in threads would fail with "table is locked" instead of queueing as
    they do on the real file (IMMEDIATE transactions, a busy timeout).
    """
    db = settings.DATABASES["default"]
    if db["ENGINE"] == "django.db.backends.sqlite3":
        db.setdefault("TEST", {})["NAME"] = str(tmp_path_factory.mktemp("sqlite") / "test.sqlite3")


@pytest.fixture
def on_postgres() -> bool:
    return connection.vendor == "postgresql"


@pytest.fixture(autouse=True)
def _celery_inline():
    """Tasks run inline in every test (a test that starts a real worker switches that off
    for itself): one that leaves it off would make the next tests queue their emails on a
    broker nobody reads."""
    celery_app.conf.task_always_eager = True
    yield
    assert celery_app.conf.task_always_eager is True, "this test left Celery queueing on a broker"


@pytest.fixture(autouse=True)
def _site_defaults(settings) -> None:
    from grouport.outbox import broker_trust_again

    broker_trust_again()  # a test's broker outage does not follow the next test
    settings.SERVICE_STATES = ("FL", "NY", "NJ")
    # The group's own link, unless a test chooses a provider (make run's default is "local").
    settings.VIDEO_PROVIDER = "static"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    # A fast hash: the suite creates many accounts (production keeps Django's default).
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Rate limits (login throttles) count in the cache: a cache of the test's own, cleared, so
    # every test starts from zero (tests that need the shared Redis cache start servers with it).
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    cache.clear()


@pytest.fixture
def stripe_fake(settings):
    """The real ``stripe`` library pointed at the fake server; Stripe is the provider."""
    fake, server = fake_stripe.start()
    fake_stripe.use_in_settings(settings, fake)
    yield fake
    server.shutdown()
    server.server_close()


@pytest.fixture
def twilio_fake(settings):
    """The real ``twilio`` library pointed at the fake server; Twilio sends the texts."""
    fake, server = fake_twilio.start()
    fake_twilio.use_in_settings(settings, fake)
    yield fake
    server.shutdown()
    server.server_close()


# --- Groups several subject files start from


@pytest.fixture
def therapy():
    """A paid therapy group for members in New York."""
    return GroupFactory(title="Evening Therapy", price=Decimal("320"), therapist=licensed_therapist("NY"))


@pytest.fixture
def skills():
    """A free skills group, open to anyone anywhere."""
    return GroupFactory(title="Open Skills", kind=Group.Kind.SKILLS, price=Decimal("0"))


@pytest.fixture
def seat():
    """A member seated in a free group whose title is as clinical as a title gets (so a test
    can see it stay out of what leaves the server): (group, member, reservation)."""
    group = GroupFactory(
        title="Borderline Personality Disorder DBT Therapy Group",
        price=Decimal("0"),
        therapist=licensed_therapist("NY"),
    )
    reservation = seated(group, at=None)
    return group, reservation.member, reservation
