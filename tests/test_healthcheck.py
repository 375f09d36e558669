"""/healthz and the container's health check: healthy while the app and its database answer."""

import http.client
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.core.cache import cache
from django.db import connection

from grouport import healthcheck

pytestmark = pytest.mark.sqlite


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
