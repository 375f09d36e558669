"""The shared cache when Redis comes and goes: every call answers, and counting goes on."""

import logging
import shutil
import socket
import subprocess
import time

import pytest
from django.core.cache.backends.locmem import LocMemCache

from grouport import cache as failover
from grouport.cache import FailoverRedisCache

pytestmark = pytest.mark.sqlite
OPTIONS = {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
