"""Fixtures of the fault suite: every server and directory a test starts is stopped and
removed when it ends, pass or fail; a failed test prints the logs of its processes."""

import pytest

from tests.faults.harness import Mailbox, RedisServer, Services, ThrowawayPostgres


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"faults_report_{report.when}", report)
    return report


@pytest.fixture
def services(request, tmp_path):
    started = Services(tmp_path)
    yield started
    failed = getattr(request.node, "faults_report_call", None)
    if failed is not None and failed.failed:
        for service in started.started:
            print(f"\n----- {service.name} (pid {service.pid}) -----\n{service.tail(80)}")
    started.close()


@pytest.fixture
def redis_server():
    server = RedisServer()
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture
def throwaway_postgres():
    server = ThrowawayPostgres()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def mailbox(tmp_path) -> Mailbox:
    return Mailbox(tmp_path / "mail")
