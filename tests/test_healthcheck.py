"""/healthz and the container's health check: healthy while the app and its database answer."""

import http.client
import os
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from django.core.cache import cache
from django.db import connection

from grouport import healthcheck

pytestmark = pytest.mark.sqlite
ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.django_db
def test_healthz_answers_ok_when_the_database_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"ok": True}


@pytest.mark.django_db(transaction=True)
def test_healthz_answers_503_when_the_database_is_down(client):
    db = connection.settings_dict
    saved = dict(db)
    connection.close()
    if connection.vendor == "postgresql":
        db["HOST"], db["PORT"] = "127.0.0.1", str(free_port())  # nothing listens there
    else:
        db["NAME"] = "/nonexistent/grouport/db.sqlite3"
    try:
        response = client.get("/healthz")
    finally:
        connection.close()
        db.clear()
        db.update(saved)
    assert response.status_code == 503 and response.json() == {"ok": False}
    assert client.get("/healthz").status_code == 200  # and healthy again once it is back


@pytest.mark.django_db
def test_an_asgi_server_gets_healthz_through_the_asgi_entry_point():
    from asgiref.sync import async_to_sync
    from asgiref.testing import ApplicationCommunicator

    from config.asgi import application

    async def get(path: str) -> tuple[int, bytes]:
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
            "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
            "root_path": "", "headers": [(b"host", b"localhost")],
            "client": ("127.0.0.1", 50000), "server": ("localhost", 80),
        }  # fmt: skip
        app = ApplicationCommunicator(application, scope)
        await app.send_input({"type": "http.request", "body": b"", "more_body": False})
        start = await app.receive_output(timeout=10)
        body = await app.receive_output(timeout=10)
        await app.wait(timeout=10)  # the application finished with the request
        return start["status"], body["body"]

    # Synchronous views run on this thread, so they see the test's database.
    assert async_to_sync(get)("/healthz") == (200, b'{"ok": true}')


@pytest.mark.django_db
def test_healthz_stays_ok_while_redis_is_down(client, settings):
    # The site keeps working without Redis (limits count per process, grouport/cache.py): a
    # health check that failed with it would take every web container out of the balancer
    # during a cache outage, when the site could still serve.
    settings.CACHES = {
        "default": {
            "BACKEND": "grouport.cache.FailoverRedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5},
        }
    }
    cache.set("probe", 1)  # the cache is really down: it answers from memory
    assert client.get("/healthz").status_code == 200


# --- python -m grouport.healthcheck, as docker compose runs it in the web container


@pytest.fixture
def aimed_at(monkeypatch):
    """Point the health check's connection (always 127.0.0.1:8000) at a port of the test's."""
    real = http.client.HTTPConnection
    asked: list[tuple[str, int]] = []

    def aim(port: int) -> list[tuple[str, int]]:
        def connect(host, default_port, timeout=None):
            asked.append((host, default_port))
            return real(host, port, timeout=timeout)

        monkeypatch.setattr(healthcheck.http.client, "HTTPConnection", connect)
        return asked

    return aim


def test_the_container_check_passes_against_the_app_that_serves_only_the_sites_hosts(
    live_server, settings, monkeypatch, aimed_at
):
    # As in production, the app answers only its own host names: the check sends the first.
    settings.ALLOWED_HOSTS = ["groups.example.org"]
    monkeypatch.setenv("ALLOWED_HOSTS", "groups.example.org,www.example.org")
    asked = aimed_at(int(live_server.url.rsplit(":", 1)[1]))
    assert healthcheck.main() == 0
    assert asked == [("127.0.0.1", 8000)]
    settings.ALLOWED_HOSTS = ["elsewhere.example.org"]
    assert healthcheck.main() == 1  # a 400 from the app is not healthy


class Answer(BaseHTTPRequestHandler):
    status = 503
    seen: list[dict] = []

    def do_GET(self) -> None:
        Answer.seen.append({"path": self.path, **dict(self.headers)})
        self.send_response(self.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.mark.parametrize(("status", "code"), [(200, 0), (503, 1), (500, 1), (301, 1)])
def test_the_container_check_fails_unless_healthz_answers_200(monkeypatch, aimed_at, status, code):
    # The first of the site's names, without the leading dot that means "and its subdomains".
    monkeypatch.setenv("ALLOWED_HOSTS", ".groups.example.org, www.example.org")
    monkeypatch.setattr(Answer, "status", status)
    monkeypatch.setattr(Answer, "seen", [])
    server = HTTPServer(("127.0.0.1", 0), Answer)
    threading.Thread(target=server.handle_request, daemon=True).start()
    try:
        aimed_at(server.server_address[1])
        assert healthcheck.main() == code
    finally:
        server.server_close()
    [request] = Answer.seen
    assert request["path"] == "/healthz"
    assert request["Host"] == "groups.example.org"
    # As the proxy would: production redirects plain http, and a redirect is not healthy.
    assert request["X-Forwarded-Proto"] == "https"


def test_the_container_check_fails_when_nothing_answers(monkeypatch, aimed_at):
    monkeypatch.delenv("ALLOWED_HOSTS", raising=False)
    aimed_at(free_port())
    assert healthcheck.main() == 1


# The container runs it as a module and reads only its exit status. It always asks
# 127.0.0.1:8000: a sitecustomize on the child's path points that at the test's server.
AIM = """
import atexit, http.client, sys

real = http.client.HTTPConnection
http.client.HTTPConnection = lambda host, port, timeout=None: real(host, {port}, timeout=timeout)
atexit.register(lambda: sys.stderr.write("django imported" if "django" in sys.modules else ""))
"""


@pytest.mark.parametrize(("status", "code"), [(200, 0), (503, 1)])
def test_python_m_grouport_healthcheck_exits_with_the_checks_answer(tmp_path, monkeypatch, status, code):
    monkeypatch.setattr(Answer, "status", status)
    monkeypatch.setattr(Answer, "seen", [])
    server = HTTPServer(("127.0.0.1", 0), Answer)
    threading.Thread(target=server.handle_request, daemon=True).start()
    (tmp_path / "sitecustomize.py").write_text(AIM.format(port=server.server_address[1]))
    # The whole environment, COVERAGE_PROCESS_START included, so `make coverage` measures the child.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    env.pop("DJANGO_SETTINGS_MODULE", None)  # the container's check needs no settings
    try:
        done = subprocess.run(
            [sys.executable, "-m", "grouport.healthcheck"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=30,
        )  # fmt: skip
    finally:
        server.server_close()
    assert done.returncode == code, done.stderr
    assert [request["path"] for request in Answer.seen] == ["/healthz"]
    assert "django imported" not in done.stderr  # it starts fast, and without the app's settings
