"""The shared cache when Redis comes and goes: every call answers, and counting goes on; with
Redis down, the right password still signs in and wrong ones still lock the account."""

import logging
import shutil
import socket
import subprocess
import time

import pytest
from django.core.cache.backends.locmem import LocMemCache
from django.test import override_settings

from grouport import cache as failover
from grouport.cache import FailoverRedisCache
from tests.factories import free_port, member

pytestmark = pytest.mark.sqlite
OPTIONS = {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5}
PASSWORD = "correct horse battery"
LOCKED = "Too many failed sign-in attempts"


def every_call(cache) -> list:
    """What the site asks of its cache (limits, locks, the agreement copy), in one run."""
    return [
        cache.add("attempts", 1, 60),
        cache.add("attempts", 5, 60),  # taken: a second "add" must say so
        cache.incr("attempts"),
        cache.incr("attempts", 3),
        cache.decr("attempts"),
        cache.get("attempts"),
        cache.has_key("attempts"),
        cache.touch("attempts", 120),
        cache.set("agreement", {"version": 3}, 600),
        cache.get_or_set("agreement", {"version": 0}, 600),
        cache.get_or_set("fresh", "made", 600),
        cache.set_many({"a": 1, "b": 2}, 60),
        cache.get_many(["a", "b", "missing"]),
        cache.delete("a"),
        cache.get("a", "gone"),
        cache.delete_many(["b", "fresh"]),
        cache.get_many(["b", "fresh"]),
        cache.clear(),
        cache.get("attempts"),
    ]


def test_with_redis_down_every_call_answers_as_a_working_cache_would(caplog):
    down = FailoverRedisCache(f"redis://127.0.0.1:{free_port()}/0", {"OPTIONS": OPTIONS})
    reference = LocMemCache("reference", {})
    started = time.monotonic()
    with caplog.at_level(logging.ERROR, logger="grouport.cache"):
        answers = every_call(down)
    assert answers == every_call(reference)
    # One log line for the outage, not one per call; and no connection timeout per call.
    [logged] = [r.getMessage() for r in caplog.records]
    assert logged.startswith("cache: Redis unreachable (") and logged.endswith(
        f"counting in this process for {failover.RETRY_AFTER}s"
    )
    assert time.monotonic() - started < 2


@pytest.fixture
def redis_server(tmp_path):
    """A Redis of the test's own, which the test can stop and start again on the same port."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("needs redis-server")
    port = free_port()
    running: list[subprocess.Popen] = []

    def start() -> None:
        process = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(tmp_path)],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        running.append(process)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    return
            time.sleep(0.05)
        raise TimeoutError("redis-server did not start")

    def stop() -> None:
        process = running.pop()
        process.terminate()
        process.wait(10)

    start()
    yield f"redis://127.0.0.1:{port}/0", start, stop
    for process in running:
        process.terminate()
        process.wait(10)


def test_a_count_is_shared_while_redis_is_up_and_per_process_during_an_outage(redis_server, monkeypatch):
    location, start, stop = redis_server
    web1 = FailoverRedisCache(location, {"OPTIONS": OPTIONS})
    web2 = FailoverRedisCache(location, {"OPTIONS": OPTIONS})  # another web process
    web1.add("login-failures", 0, 300)
    web1.incr("login-failures")
    web2.incr("login-failures")
    assert web1.get("login-failures") == web2.get("login-failures") == 2  # one shared count
    monkeypatch.setattr(failover, "RETRY_AFTER", 1.0)
    stop()
    # Down: each process counts on its own rather than failing or letting everyone through.
    assert web1.add("login-failures", 0, 300) is True
    assert web1.incr("login-failures") == 1 and web1.incr("login-failures") == 2
    assert web2.get("login-failures") is None
    start()
    time.sleep(1.1)
    # Back: after the pause each process tries Redis again, and they share what they keep.
    web1.set("after", "shared", 60)
    assert web2.get("after") == "shared"


# --- A Redis outage seen from the site: sign-in still works, and the limits still count


@pytest.fixture
def redis_down():
    dead = f"redis://127.0.0.1:{free_port()}/0"
    caches = {
        "default": {
            "BACKEND": "grouport.cache.FailoverRedisCache",
            "LOCATION": dead,
            "KEY_PREFIX": "grouport-test",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5},
        }
    }
    with override_settings(CACHES=caches):
        yield


@pytest.mark.django_db
def test_with_redis_down_the_right_password_signs_in(client, redis_down):
    alex = member()
    page = client.post("/accounts/login/", {"login": alex.email, "password": PASSWORD})
    assert page.status_code == 302 and client.session.get("_auth_user_id") == str(alex.pk)


@pytest.mark.django_db
def test_with_redis_down_wrong_passwords_still_lock_the_account(client, redis_down):
    alex = member()
    for n in range(5):
        client.post("/accounts/login/", {"login": alex.email, "password": f"guess-{n}"})
    page = client.post("/accounts/login/", {"login": alex.email, "password": PASSWORD})
    assert page.status_code == 429 or LOCKED in page.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_the_failover_cache_answers_from_memory_and_tries_redis_again_later(redis_down, monkeypatch):
    from django.core.cache import cache

    from grouport import cache as failover

    assert cache.add("k", 1, 30) is True and cache.get("k") == 1
    attempts = []
    real_get = failover.RedisCache.get

    def counting_get(self, *args, **kwargs):
        attempts.append(1)
        return real_get(self, *args, **kwargs)

    monkeypatch.setattr(failover.RedisCache, "get", counting_get)
    cache.get("k")
    assert attempts == []  # within RETRY_AFTER: memory only, no 0.5 s wait per call
    monkeypatch.setattr(failover, "RETRY_AFTER", 0.0)
    cache._down_until = 0.0
    assert cache.get("k") == 1 or cache.get("k") is None
    assert attempts  # tried Redis again
