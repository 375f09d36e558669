"""The production install runs the product: a virtualenv from requirements.txt ALONE.

Production installs requirements.txt and nothing else (see the Dockerfile), while the rest of
the suite runs in the development virtualenv, where requirements-dev.txt can hide a runtime
dependency that only a development tool pulls in. (It did: kombu's Redis transport imports
``packaging``; without it every task publish was a 500 and the worker could not start.)

This test builds that virtualenv (cached under var/, keyed by requirements.txt and the
Python version), copies the code as the Dockerfile's ``COPY . .`` does (.dockerignore
applied, so collectstatic writes into the copy, never into the checkout), and runs the
production commands from it with ``DJANGO_ENV=production``, against a fresh database of its
own on the run's PostgreSQL and the run's Redis: migrate, collectstatic, a Celery worker that
runs a real task sent through the broker, and gunicorn serving the catalog.
"""

import contextlib
import fcntl
import fnmatch
import hashlib
import http.client
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import environ
import psycopg2
import pytest
import redis
from psycopg2 import sql

from config.settings import ENV_VARS

pytestmark = [pytest.mark.postgres, pytest.mark.production]

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "requirements.txt"
INSTALLED_MARKER = ".grouport-installed"
HOST = "grouport.test"
# Never copied, whatever .dockerignore says: the copy must stay small and hold no venv.
ALWAYS_LEFT_OUT = (".git", ".venv", "var", "staticfiles")

# Rows for the task to act on, made by the product's own services in the production venv:
# a licensed therapist, a published group, a verified member and a hold that lapsed.
SEED = """
import datetime as dt, json, sys
from decimal import Decimal

import django

django.setup()
from allauth.account.models import EmailAddress
from django.utils import timezone

from enrollment.models import Reservation
from enrollment.services.reservations import Attestations, reservation_hold
from grouport.models import User
from groups.models import Group, License, Therapist
from groups.services import group_save

token, now, today = sys.argv[1], timezone.now(), timezone.localdate()
lead = User.objects.create_user(email=f"lead-{token}@example.test", first_name="Dana", is_staff=True)
therapist = Therapist.objects.create(user=lead, display_name="Dana Reyes", credentials="LCSW")
License.objects.create(
    therapist=therapist, state="NY", number=f"LIC-{token}", expires_on=today + dt.timedelta(days=3 * 365)
)
group = Group(
    title=f"Production check group {token}", slug=f"production-check-{token}", kind=Group.Kind.THERAPY,
    description="Weekly DBT group.", therapist=therapist, weekday=1, start_time=dt.time(19, 0),
    time_zone="America/New_York", duration_minutes=90,
    starts_on=today + dt.timedelta(days=(1 - today.weekday()) % 7 or 7), weeks=8, capacity=10,
    price=Decimal("200.00"), status=Group.Status.PUBLISHED, video_url="https://video.example.com/room",
)
group = group_save(group=group, modules=["core_principles", "mindfulness"])
member = User.objects.create_user(
    email=f"member-{token}@example.test", state="NY", time_zone="America/New_York"
)
EmailAddress.objects.create(user=member, email=member.email, verified=True, primary=True)
from intake.selectors import consent_current
from intake.services import IntakeData, answers_without_flags, consent_sign, intake_save
intake_save(member=member, answers=answers_without_flags(), data=IntakeData(
    birth_date=dt.date(1990, 1, 1), phone="+12125550100", emergency_name="Pat",
    emergency_relationship="Friend",
    emergency_phone="+12125550111", address_line="1 Main St", address_city="Albany", address_state="NY",
    address_postal_code="12207",
))
consent_sign(member=member, version=consent_current().version, signed_name="Member Name", ip="127.0.0.1")
held = reservation_hold(
    member=member, group=group, attestations=Attestations(residence=True, location=True, agreement=True),
    now=now - dt.timedelta(hours=1),
)
assert held.status == Reservation.Status.HELD and held.expires_at < now, (held.status, held.expires_at)
print("SEED", json.dumps({
    "reservation": held.pk, "table": Reservation._meta.db_table,
    "expired": Reservation.Status.EXPIRED.value, "title": group.title,
}))
"""

# Publishes the periodic job that expires lapsed holds, as beat would, through the broker.
# The queue is this run's own: a worker of another run sharing the Redis cannot take it.
SEND = """
import sys

import django

django.setup()
from enrollment.tasks import refresh_all_seats

print("TASK", refresh_all_seats.apply_async(queue=sys.argv[1]).id)
"""


def tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def line_after(prefix: str, output: str) -> str:
    """The rest of the line a script printed after ``prefix`` (logs are mixed into its output)."""
    found = re.search(rf"^{prefix} (.+)$", output, re.MULTILINE)
    assert found, f"no {prefix!r} line in the output:\n{tail(output)}"
    return found[1]


def services() -> tuple[str, str]:
    """DATABASE_URL and REDIS_URL of the run: required under CI, a skip otherwise."""
    found = {name: os.environ.get(name, "") for name in ("DATABASE_URL", "REDIS_URL")}
    missing = " and ".join(name for name, value in found.items() if not value)
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{missing} must be set in CI (python -m tests.services starts throw-away servers)")
        pytest.skip(f"needs {missing} (run it under python -m tests.services, as make test does)")
    return found["DATABASE_URL"], found["REDIS_URL"]


# --- The virtualenv: requirements.txt alone, on the interpreter this run's venv came from.


def base_python() -> str:
    return getattr(sys, "_base_executable", None) or sys.executable


def python_works(python: Path) -> bool:
    try:
        return subprocess.run([python, "-c", "import sys"], capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def run_or_fail(args: list, *, what: str, timeout: float, **kwargs) -> str:
    result = subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kwargs)
    if result.returncode != 0:
        pytest.fail(f"{what} failed ({result.returncode}):\n{tail(result.stdout + result.stderr, 60)}")
    return result.stdout


def production_venv() -> Path:
    """Build var/prod-venv-<hash> from requirements.txt alone, or reuse it if a build finished.

    The marker file is written only after a successful install; without it the directory is
    a failed or interrupted build and is rebuilt from scratch. A lock lets a second run wait
    for the first one's build instead of building over it.
    """
    requirements = REQUIREMENTS.read_bytes()
    interpreter = f"{platform.python_implementation()} {sys.version} {sys.platform}"
    key = hashlib.sha256(requirements + b"\0" + interpreter.encode()).hexdigest()[:12]
    venv = ROOT / "var" / f"prod-venv-{key}"
    python = venv / "bin" / "python"
    venv.parent.mkdir(exist_ok=True)
    with open(venv.parent / f"{venv.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (venv / INSTALLED_MARKER).is_file() and python_works(python):
            return venv
        shutil.rmtree(venv, ignore_errors=True)
        started = time.monotonic()
        run_or_fail([base_python(), "-m", "venv", venv], what="python -m venv", timeout=300, env=clean_env())
        # Installed from a copy of the bytes hashed above, so the key always names what is in it.
        (venv / "requirements.txt").write_bytes(requirements)
        # pip resolves from the machine's configured indexes (pip.conf), as the Dockerfile's does.
        run_or_fail(
            [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r",
             str(venv / "requirements.txt")],
            what="pip install -r requirements.txt", timeout=900, env=clean_env(),
        )  # fmt: skip
        frozen = run_or_fail([python, "-m", "pip", "freeze"], what="pip freeze", timeout=120)
        (venv / INSTALLED_MARKER).write_text(
            f"python: {interpreter}\nbuilt in {time.monotonic() - started:.0f}s\n\n{frozen}"
        )
    return venv


# --- The code, as the image has it.


def dockerignore_patterns() -> list[str]:
    path = ROOT / ".dockerignore"
    lines = path.read_text().splitlines() if path.exists() else []
    patterns = [
        line.strip().strip("/") for line in lines if line.strip() and not line.lstrip().startswith("#")
    ]
    # "!" exceptions are not supported here (the file has none): they could only add files back.
    return [pattern for pattern in patterns if not pattern.startswith("!")] + list(ALWAYS_LEFT_OUT)


def copy_build_context(dest: Path) -> Path:
    """The working tree minus .dockerignore, as ``COPY . .`` puts it in the image.

    A pattern without a slash also matches by name at any depth, which only leaves out more
    caches than Docker would (``__pycache__``, ``*.pyc``).
    """
    patterns = dockerignore_patterns()

    def ignore(directory: str, names: list[str]) -> set[str]:
        here = Path(directory).relative_to(ROOT)
        return {
            name
            for name in names
            for pattern in patterns
            if fnmatch.fnmatch((here / name).as_posix(), pattern)
            or ("/" not in pattern and fnmatch.fnmatch(name, pattern))
        }

    shutil.copytree(ROOT, dest, ignore=ignore, symlinks=True)
    return dest


# --- PostgreSQL: a database of this test's own on the run's server.


def connect(database_url: str):
    config = environ.Env.db_url_config(database_url)
    assert "postgresql" in config["ENGINE"], f"DATABASE_URL is not PostgreSQL: {config['ENGINE']}"
    params = {
        "dbname": config["NAME"],
        "user": config.get("USER"),
        "password": config.get("PASSWORD"),
        "host": config.get("HOST"),
        "port": config.get("PORT"),
        **config.get("OPTIONS", {}),
    }
    connection = psycopg2.connect(**{key: value for key, value in params.items() if value not in (None, "")})
    connection.autocommit = True
    return connection


@contextlib.contextmanager
def throwaway_database(database_url: str) -> Iterator[str]:
    """A new, empty database on DATABASE_URL's server (its URL), dropped afterwards whatever happens."""
    name = f"grouport_prod_{uuid.uuid4().hex[:12]}"
    admin = connect(database_url)
    try:
        with admin.cursor() as cursor:
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    finally:
        admin.close()
    try:
        yield urlsplit(database_url)._replace(path=f"/{name}").geturl()
    finally:
        admin = connect(database_url)
        try:
            with admin.cursor() as cursor:
                # FORCE: a process killed mid-query may leave a session behind.
                cursor.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )
        finally:
            admin.close()


# --- Processes from the production venv, each with its output in a file.


def clean_env() -> dict[str, str]:
    """The test run's environment minus everything that could steer Python, Django or Celery."""
    return {
        key: value
        for key, value in os.environ.items()
        if key not in ENV_VARS
        and key not in ("VIRTUAL_ENV", "WEB_CONCURRENCY")
        and not key.startswith(("PYTHON", "DJANGO_", "CELERY_"))
    }


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Processes:
    def __init__(self, *, cwd: Path, env: dict[str, str], logs: Path) -> None:
        self.cwd, self.env, self.logs = cwd, env, logs
        self.outputs: list[Path] = []
        self.running: list[subprocess.Popen] = []

    def _log(self, name: str) -> Path:
        path = self.logs / f"{len(self.outputs):02d}-{name}.log"
        self.outputs.append(path)
        return path

    def run(self, name: str, args: list, *, timeout: float = 300) -> str:
        path = self._log(name)
        with path.open("wb") as out:
            code = subprocess.run(
                args, cwd=self.cwd, env=self.env, stdout=out, stderr=subprocess.STDOUT, timeout=timeout
            ).returncode
        output = path.read_text(errors="replace")
        assert code == 0, f"{name} exited with {code}:\n{tail(output)}"
        return output

    def start(self, name: str, args: list) -> tuple[subprocess.Popen, Path]:
        path = self._log(name)
        with path.open("wb") as out:
            process = subprocess.Popen(
                args, cwd=self.cwd, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.running.append(process)
        return process, path

    def stop_all(self) -> None:
        for process in self.running:
            if process.poll() is None:
                process.terminate()
        for process in self.running:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                # Not reaped yet, so the group is still ours: its leader and any children go.
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=20)

    def print_tails(self) -> None:
        for path in self.outputs:
            print(f"\n----- {path.name} (last lines) -----\n{tail(path.read_text(errors='replace'))}")


def wait_for_line(process: subprocess.Popen, log: Path, pattern: str, *, what: str, timeout: float):
    deadline = time.monotonic() + timeout
    while True:
        text = log.read_text(errors="replace")
        if match := re.search(pattern, text):
            return match
        if process.poll() is not None:
            pytest.fail(f"{what} exited with {process.returncode}:\n{tail(text)}")
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: no {pattern!r} within {timeout:.0f} s:\n{tail(text)}")
        time.sleep(0.1)


def https_get(port: int, path: str) -> tuple[http.client.HTTPResponse, str]:
    """GET as the load balancer forwards it: our host name, and HTTPS said by the proxy header."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers={"Host": HOST, "X-Forwarded-Proto": "https"})
        response = connection.getresponse()
        return response, response.read().decode(errors="replace")
    finally:
        connection.close()


def test_the_production_install_migrates_serves_the_catalog_and_runs_a_task(tmp_path):
    database_url, redis_url = services()
    timings: dict[str, float] = {}
    started = time.monotonic()
    venv = production_venv()
    timings["venv"] = time.monotonic() - started
    bin_dir = venv / "bin"
    app = copy_build_context(tmp_path / "app")
    logs = tmp_path / "logs"
    logs.mkdir()
    token = uuid.uuid4().hex[:10]
    queue = f"grouport-production-check-{token}"

    with throwaway_database(database_url) as app_database_url:
        env = {
            **clean_env(),
            "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONNOUSERSITE": "1",
            "DJANGO_SETTINGS_MODULE": "config.settings",
            # What production refuses to start without (config/settings), and no BUILD_ONLY.
            "DJANGO_ENV": "production",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": HOST,
            "SITE_URL": f"https://{HOST}",
            "DATABASE_URL": app_database_url,
            "REDIS_URL": redis_url,
            "EMAIL_URL": f"smtp://127.0.0.1:{unused_port()}",
            "STRIPE_SECRET_KEY": "sk_test_production_install_check",
            "STRIPE_WEBHOOK_SECRET": "whsec_production_install_check",
            "CARE_TEAM_EMAIL": "care@example.org",
            "STRIPE_API_BASE": f"http://127.0.0.1:{unused_port()}",  # never the real Stripe
            "TWILIO_ACCOUNT_SID": "AC_production_install_check",
            "TWILIO_AUTH_TOKEN": "twilio_production_install_check",
            "TWILIO_FROM_NUMBER": "+12125550100",
            "TWILIO_API_BASE": f"http://127.0.0.1:{unused_port()}",  # never the real Twilio
            "VIDEO_PROVIDER": "jitsi",
            "JITSI_DOMAIN": "meet.example.org",
            "JITSI_APP_ID": "grouport",
            "JITSI_APP_SECRET": "jitsi_production_install_check_with_32_chars",
            "CLINIC_LEGAL_NAME": "Example Clinic, PLLC",
            "CLINIC_ADDRESS": "1 Main St|New York, NY 10001",
            "CLINIC_TAX_ID": "12-3456789",
            "LOG_LEVEL": "INFO",
        }
        processes = Processes(cwd=app, env=env, logs=logs)
        python = str(bin_dir / "python")
        try:
            mark = time.monotonic()
            processes.run("migrate", [python, "manage.py", "migrate", "--noinput"])
            timings["migrate"] = time.monotonic() - mark
            # The worker boots while the static files are collected and the rows are made.
            worker, worker_log = processes.start(
                "celery-worker",
                [bin_dir / "celery", "-A", "config", "worker", "--pool=solo", "--without-mingle",
                 "--without-gossip", "--without-heartbeat", "--loglevel=INFO",
                 "-n", f"production-check-{token}@%h", "-Q", queue],
            )  # fmt: skip
            mark = time.monotonic()
            processes.run("collectstatic", [python, "manage.py", "collectstatic", "--noinput"])
            assert (app / "staticfiles" / "staticfiles.json").is_file(), "collectstatic wrote no manifest"
            timings["collectstatic"] = time.monotonic() - mark
            seed_output = processes.run("seed", [python, "-c", SEED, token], timeout=120)
            seed = json.loads(line_after("SEED", seed_output))
            gunicorn, gunicorn_log = processes.start(
                "gunicorn",
                # Port 0: the kernel picks a free one and gunicorn logs it. No control socket:
                # its default path in $HOME would be shared with any other gunicorn here.
                [bin_dir / "gunicorn", "config.wsgi:application", "--bind", "127.0.0.1:0", "--workers", "1",
                 "--access-logfile", "-", "--no-control-socket"],
            )  # fmt: skip

            # A real task through the broker: sent from the production venv, run by its worker.
            mark = time.monotonic()
            wait_for_line(
                worker, worker_log, rf"production-check-{token}@\S+ ready\.", what="celery worker", timeout=60
            )
            timings["worker ready"] = time.monotonic() - mark
            mark = time.monotonic()
            sent = processes.run("send-task", [python, "-c", SEND, queue], timeout=60)
            task_id = line_after("TASK", sent)
            status_sql = sql.SQL("SELECT status FROM {} WHERE id = %s").format(sql.Identifier(seed["table"]))
            status = None
            poll = connect(app_database_url)
            try:
                with poll.cursor() as cursor:
                    while time.monotonic() - mark < 60:
                        cursor.execute(status_sql, [seed["reservation"]])
                        status = cursor.fetchone()[0]
                        if status == seed["expired"]:
                            break
                        assert worker.poll() is None, f"the worker exited:\n{tail(worker_log.read_text())}"
                        time.sleep(0.2)
            finally:
                poll.close()
            assert status == seed["expired"], f"the lapsed hold is still {status!r} after 60 s"
            wait_for_line(
                worker, worker_log, rf"refresh_all_seats\[{re.escape(task_id)}\] succeeded",
                what="celery worker", timeout=20,
            )  # fmt: skip
            timings["task"] = time.monotonic() - mark

            # The catalog over HTTP from gunicorn, with the static files WhiteNoise serves.
            listening = r"Listening at: http://127\.0\.0\.1:(\d+)"
            port = int(wait_for_line(gunicorn, gunicorn_log, listening, what="gunicorn", timeout=60)[1])
            response, page = https_get(port, "/")
            assert response.status == 200, f"GET / answered {response.status}:\n{page[:2000]}"
            assert "text/html" in response.getheader("Content-Type", "")
            assert seed["title"] in page, "the catalog does not list the group"
            assert response.getheader("Strict-Transport-Security"), "not the production settings"
            stylesheet = re.search(r'href="(/static/css/site\.[0-9a-f]{12}\.css)"', page)
            assert stylesheet, "no hashed stylesheet in the page (the manifest storage is off?)"
            response, css = https_get(port, stylesheet[1])
            assert response.status == 200 and css.strip(), f"{stylesheet[1]} answered {response.status}"
        except BaseException:
            processes.stop_all()
            processes.print_tails()
            raise
        finally:
            processes.stop_all()
            # The queue's keys (the queue, kombu's binding tables) would stay on a shared Redis.
            with contextlib.suppress(Exception):
                client = redis.Redis.from_url(redis_url)
                for key in client.scan_iter(match=f"*{queue}*"):
                    client.delete(key)
    print("production install, seconds: " + ", ".join(f"{name} {took:.1f}" for name, took in timings.items()))
