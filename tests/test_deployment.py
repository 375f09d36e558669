"""The deployment files agree with each other and with the settings.

docker-compose.yml and the Dockerfile are read as data (there is no Docker engine in the
test run); the settings modes are loaded in a fresh Python process each, because settings
are read once at import. No database is touched, so these also run in the SQLite pass.
"""

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import environ
import pytest
import yaml

from config.settings import ENV_VARS

pytestmark = pytest.mark.sqlite

ROOT = Path(__file__).resolve().parent.parent
APP_SERVICES = ("web", "worker", "beat")

# Compose's ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?message} and ${VAR?message}.
INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


@pytest.fixture(scope="module")
def compose() -> dict:
    with (ROOT / "docker-compose.yml").open() as f:
        return yaml.safe_load(f)


@pytest.fixture(scope="module")
def services(compose: dict) -> dict:
    return compose["services"]


def app_env(service: dict) -> dict[str, str]:
    """A service's environment as a dict, whether written as a mapping or a KEY=VALUE list."""
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) if "=" in item else (item, None) for item in environment)
    return {key: None if value is None else str(value) for key, value in environment.items()}


def command_of(service: dict) -> str:
    command = service.get("command")
    assert command, "the service has no command of its own"
    return command if isinstance(command, str) else shlex.join(command)


def interpolate(value: str, host: dict[str, str]) -> str:
    """Resolve compose interpolation against ``host`` the way ``docker compose`` does."""

    def resolve(match: re.Match) -> str:
        name, op, arg = match["name"], match["op"], match["arg"]
        present = name in host and (host[name] != "" or not (op or "").startswith(":"))
        if present:
            return host[name]
        if op and op.endswith("?"):
            raise LookupError(f"{name} is required: {arg}")
        return arg if op else ""

    return INTERPOLATION.sub(resolve, value.replace("$$", "\0")).replace("\0", "$")


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    instructions, current = [], ""
    for raw in (ROOT / "Dockerfile").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        keyword, _, args = (current + line).partition(" ")
        instructions.append((keyword.upper(), args.strip()))
        current = ""
    return instructions


def dockerfile_cmd() -> str:
    cmds = [args for keyword, args in dockerfile_instructions() if keyword == "CMD"]
    assert cmds, "the Dockerfile has no CMD"
    cmd = cmds[-1]  # the last CMD is the one that counts
    return shlex.join(json.loads(cmd)) if cmd.startswith("[") else cmd


# Loads the settings in a fresh interpreter and prints the requested names as JSON. The
# developer's own .env is not read, so only the environment the test gives counts.
SETTINGS_PROBE = """
import json, sys
import environ
environ.Env.read_env = staticmethod(lambda *args, **kwargs: None)
from django.conf import settings
print(json.dumps({name: getattr(settings, name, None) for name in sys.argv[1:]}, default=str))
"""


STRONG_KEY = "k3Y-" + "x7Qp9rT2vW5yZ8bC1dF4gH6jK0mN3sU" * 2  # 66 characters, varied
PRODUCTION_HOST = {
    "SECRET_KEY": STRONG_KEY,
    "POSTGRES_PASSWORD": "from-the-host-too",
    "ALLOWED_HOSTS": "groups.example.org",
    "SITE_URL": "https://groups.example.org",
    "EMAIL_URL": "smtp+tls://user:pass@smtp.example.org:587",
    "STRIPE_SECRET_KEY": "sk_live_example",
    "STRIPE_WEBHOOK_SECRET": "whsec_example",
    "CARE_TEAM_EMAIL": "care@example.org",
    "TWILIO_ACCOUNT_SID": "AC_example",
    "TWILIO_AUTH_TOKEN": "twilio-token-example",
    "TWILIO_FROM_NUMBER": "+12125550100",
    "VIDEO_PROVIDER": "jitsi",
    "JITSI_DOMAIN": "meet.example.org",
    "JITSI_APP_ID": "grouport",
    "JITSI_APP_SECRET": "jitsi-secret-example-of-thirty-two-characters",
    "CLINIC_LEGAL_NAME": "Example Clinic, PLLC",
    "CLINIC_ADDRESS": "1 Main St|New York, NY 10001",
    "CLINIC_TAX_ID": "12-3456789",
}
# A production environment that passes every check: each refusal test spoils one thing.
PRODUCTION_ENV = {
    "DJANGO_ENV": "production",
    "SECRET_KEY": STRONG_KEY,
    "ALLOWED_HOSTS": "groups.example.org",
    "SITE_URL": "https://groups.example.org",
    "DATABASE_URL": "postgres://grouport:secret@db.example.org:5432/grouport",
    "REDIS_URL": "redis://redis:6379/0",
    "EMAIL_URL": "smtp+tls://user:pass@smtp.example.org:587",
    "STRIPE_SECRET_KEY": "sk_live_example",
    "STRIPE_WEBHOOK_SECRET": "whsec_example",
    "CARE_TEAM_EMAIL": "care@example.org",
    "TWILIO_ACCOUNT_SID": "AC_example",
    "TWILIO_AUTH_TOKEN": "twilio-token-example",
    "TWILIO_FROM_NUMBER": "+12125550100",
    "VIDEO_PROVIDER": "jitsi",
    "JITSI_DOMAIN": "meet.example.org",
    "JITSI_APP_ID": "grouport",
    "JITSI_APP_SECRET": "jitsi-secret-example-of-thirty-two-characters",
    "CLINIC_LEGAL_NAME": "Example Clinic, PLLC",
    "CLINIC_ADDRESS": "1 Main St|New York, NY 10001",
    "CLINIC_TAX_ID": "12-3456789",
}


def run_settings(env: dict[str, str], *names: str) -> subprocess.CompletedProcess:
    clean = {key: value for key, value in os.environ.items() if key not in ENV_VARS}
    clean.update(env, DJANGO_SETTINGS_MODULE="config.settings")
    return subprocess.run(
        [sys.executable, "-c", SETTINGS_PROBE, *names],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


def load_settings(env: dict[str, str], *names: str) -> dict:
    result = run_settings(env, *names)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


# --- docker-compose.yml


def test_compose_defines_the_five_services(services):
    assert {"web", "worker", "beat", "db", "redis"} <= set(services)


def test_web_worker_and_beat_run_one_image(services):
    builds = [services[name]["build"] for name in APP_SERVICES if "build" in services[name]]
    assert builds, "no app service builds the image"
    assert all(build == builds[0] for build in builds)
    build = builds[0] if isinstance(builds[0], dict) else {"context": builds[0]}
    dockerfile = ROOT / build.get("context", ".") / build.get("dockerfile", "Dockerfile")
    assert dockerfile.resolve() == (ROOT / "Dockerfile").resolve()

    images = {services[name].get("image") for name in APP_SERVICES}
    if images == {None}:
        # No image name: then every one of them must build the same thing itself.
        assert len(builds) == len(APP_SERVICES)
    else:
        assert len(images) == 1, f"web, worker and beat name different images: {images}"
        assert None not in images


def test_migrations_run_once_before_anything_serves(services):
    migrate = services["migrate"]
    assert "manage.py migrate" in command_of(migrate)
    assert migrate.get("restart") == "no", "a one-shot service must not be restarted"
    for name in APP_SERVICES:
        assert "migrate" not in command_of(services[name]), f"{name} must not migrate on every start"
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_web_serves_with_gunicorn_and_its_production_config(services):
    command = command_of(services["web"])
    assert command.startswith("gunicorn -c config/gunicorn.conf.py config.wsgi:application")
    assert services["web"]["healthcheck"]["test"] == ["CMD", "python", "-m", "grouport.healthcheck"]
    assert "inspect ping" in " ".join(services["worker"]["healthcheck"]["test"])


def test_gunicorn_config_binds_times_out_and_keeps_a_private_access_log():
    config = {}
    exec((ROOT / "config/gunicorn.conf.py").read_text(), config)  # noqa: S102 - our own file
    assert config["bind"] == "0.0.0.0:8000"
    assert 0 < config["timeout"] <= 60
    assert config["logger_class"] == "grouport.gunicorn_logging.PrivateAccessLogger"
    assert "%(h)s" not in config["access_log_format"] and "%(q)s" not in config["access_log_format"]


def test_redis_keeps_its_data(compose, services):
    assert "--appendonly yes" in command_of(services["redis"])
    mounts = [str(volume).split(":") for volume in services["redis"].get("volumes", [])]
    assert next(source for source, target, *_ in mounts if target == "/data") in compose["volumes"]


def test_no_secret_is_written_in_the_compose_file():
    text = (ROOT / "docker-compose.yml").read_text()
    for name in (
        "SECRET_KEY",
        "POSTGRES_PASSWORD",
        "STRIPE_SECRET_KEY",
        "STRIPE_WEBHOOK_SECRET",
        "EMAIL_URL",
        "TWILIO_AUTH_TOKEN",
        "JITSI_APP_SECRET",
    ):
        for line in text.splitlines():
            if line.strip().startswith(f"{name}:"):
                assert "${" + name + ":?" in line, line


def test_tests_and_benchmarks_are_not_shipped_in_the_image():
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    assert {"tests", "bench", ".env", ".git"} <= ignored


def test_worker_and_beat_run_the_config_celery_app(services):
    worker = shlex.split(command_of(services["worker"]))
    beat = shlex.split(command_of(services["beat"]))
    assert worker[:4] == ["celery", "-A", "config", "worker"]
    assert beat[:4] == ["celery", "-A", "config", "beat"]
    # Beat runs once, in its own service: a worker with embedded beat would double it.
    assert "-B" not in worker
    assert "--beat" not in worker


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_environment_uses_only_variables_the_settings_read(services, name):
    env = app_env(services[name])
    assert set(env) <= set(ENV_VARS), f"not read by the settings: {set(env) - set(ENV_VARS)}"
    required = {
        "DJANGO_ENV",
        "SECRET_KEY",
        "ALLOWED_HOSTS",
        "SITE_URL",
        "DATABASE_URL",
        "REDIS_URL",
        "EMAIL_URL",
        "DEFAULT_FROM_EMAIL",
        "STRIPE_SECRET_KEY",
        "STRIPE_WEBHOOK_SECRET",
        "TWILIO_ACCOUNT_SID",
        "TWILIO_AUTH_TOKEN",
        "TWILIO_FROM_NUMBER",
        "VIDEO_PROVIDER",
        "JITSI_DOMAIN",
        "JITSI_APP_ID",
        "JITSI_APP_SECRET",
        "CLINIC_LEGAL_NAME",
        "CLINIC_ADDRESS",
        "CLINIC_TAX_ID",
    }
    assert required <= set(env), f"missing: {required - set(env)}"
    assert env["DJANGO_ENV"] == "production"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_secret_key_must_come_from_the_host(services, name):
    value = app_env(services[name])["SECRET_KEY"]
    with pytest.raises(LookupError, match="SECRET_KEY"):
        interpolate(value, host={})
    assert interpolate(value, host={"SECRET_KEY": "from-the-host"}) == "from-the-host"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_database_url_points_at_the_db_service(services, name):
    with pytest.raises(LookupError, match="POSTGRES_PASSWORD"):
        interpolate(app_env(services[name])["DATABASE_URL"], host={})
    url = interpolate(app_env(services[name])["DATABASE_URL"], host=PRODUCTION_HOST)
    config = environ.Env.db_url_config(url)
    db = {k: interpolate(v, host=PRODUCTION_HOST) for k, v in app_env(services["db"]).items()}
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert config["HOST"] == "db"
    assert config["USER"] == db["POSTGRES_USER"]
    assert config["PASSWORD"] == db["POSTGRES_PASSWORD"] == PRODUCTION_HOST["POSTGRES_PASSWORD"]
    assert config["NAME"] == db["POSTGRES_DB"]


@pytest.mark.parametrize("name", APP_SERVICES)
def test_redis_url_points_at_the_redis_service(services, name):
    url = urlsplit(interpolate(app_env(services[name])["REDIS_URL"], host={}))
    assert url.scheme == "redis"
    assert url.hostname == "redis"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_wait_for_healthy_db_and_redis(services, name):
    depends_on = services[name].get("depends_on")
    assert isinstance(depends_on, dict), "depends_on needs conditions, not a plain list"
    for dependency in ("db", "redis"):
        assert depends_on[dependency]["condition"] == "service_healthy"
        assert services[dependency].get("healthcheck", {}).get("test"), f"{dependency} has no healthcheck"


def test_db_and_redis_images_and_checks(compose, services):
    assert services["db"]["image"] == "postgres:16"
    assert services["redis"]["image"] == "redis:7"
    assert "pg_isready" in " ".join(services["db"]["healthcheck"]["test"])
    # The data outlives the container: a named volume (declared at the top level).
    mounts = [str(volume).split(":") for volume in services["db"].get("volumes", [])]
    named = [source for source, target, *_ in mounts if target == "/var/lib/postgresql/data"]
    assert named, "the PostgreSQL data directory is not on a volume"
    assert named[0] in (compose.get("volumes") or {})


def test_compose_environment_loads_production_settings(services):
    """With the required secrets given, the app environment (its defaults resolved) starts Django."""
    env = {key: interpolate(value, host=PRODUCTION_HOST) for key, value in app_env(services["web"]).items()}
    loaded = load_settings(env, "DEBUG", "DATABASES", "CELERY_TASK_ALWAYS_EAGER", "CELERY_BROKER_URL")
    assert loaded["DEBUG"] is False
    assert loaded["DATABASES"]["default"]["HOST"] == "db"
    assert loaded["CELERY_TASK_ALWAYS_EAGER"] is False, "tasks would never reach the worker"
    assert loaded["CELERY_BROKER_URL"] == env["REDIS_URL"]


# --- Dockerfile


def test_dockerfile_cmd_serves_grouport_with_gunicorn():
    cmd = dockerfile_cmd()
    assert "gunicorn" in cmd
    assert "config.wsgi:application" in cmd
    assert "-c config/gunicorn.conf.py" in cmd  # binds 0.0.0.0:8000 (tested above)
    assert ("EXPOSE", "8000") in dockerfile_instructions()


def test_dockerfile_installs_requirements_before_copying_the_code():
    instructions = dockerfile_instructions()
    assert instructions[0] == ("FROM", "python:3.11-slim")

    def first(predicate) -> int:
        found = [i for i, (keyword, args) in enumerate(instructions) if predicate(keyword, args.split())]
        assert found, "instruction not found"
        return found[0]

    copy_requirements = first(lambda keyword, args: keyword == "COPY" and "requirements.txt" in args[:-1])
    install = first(
        lambda keyword, args: keyword == "RUN" and "install" in args and "requirements.txt" in args
    )
    copy_code = first(lambda keyword, args: keyword == "COPY" and args[:1] == ["."])
    # The dependency layer is cached across code changes only in this order.
    assert copy_requirements < install < copy_code


def test_dockerfile_collects_static_files_in_production_mode():
    runs = [args for keyword, args in dockerfile_instructions() if keyword == "RUN"]
    collect = [args for args in runs if "collectstatic --noinput" in args]
    assert collect, "static files are not collected at build time"
    assert "DJANGO_ENV=production" in collect[0]
    assert "SECRET_KEY=" in collect[0]


def test_dockerfile_runs_as_a_non_root_user():
    users = [args for keyword, args in dockerfile_instructions() if keyword == "USER"]
    assert users, "the image runs as root"
    assert users[-1].split(":")[0] not in {"root", "0"}


# --- Settings modes


def test_production_mode_hardens_the_settings():
    loaded = load_settings(
        PRODUCTION_ENV,
        "DEBUG",
        "ALLOWED_HOSTS",
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "CACHES",
        "CONTENT_SECURITY_POLICY",
    )
    assert loaded["DEBUG"] is False
    assert loaded["ALLOWED_HOSTS"] == ["groups.example.org"]
    assert loaded["SESSION_COOKIE_SECURE"] is True
    assert loaded["CSRF_COOKIE_SECURE"] is True
    assert loaded["SECURE_SSL_REDIRECT"] is True
    assert loaded["SECURE_HSTS_SECONDS"] > 0
    # Sign-in limits are counted where every worker sees them.
    assert loaded["CACHES"]["default"]["BACKEND"] == "grouport.cache.FailoverRedisCache"
    assert "'unsafe-inline'" not in str(loaded["CONTENT_SECURITY_POLICY"])


# Each refusal, and the words an operator needs to fix it.
REFUSALS = [
    ("debug on", {"DEBUG": "True"}, "DEBUG is on"),
    ("no secret key", {"SECRET_KEY": ""}, "SECRET_KEY is not set"),
    (
        "the development key",
        {"SECRET_KEY": "dev-only-insecure-key-change-me"},
        "development or published key",
    ),
    ("a short key", {"SECRET_KEY": "short-but-not-known-1234"}, "too short"),
    ("no hosts", {"ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS is empty"),
    ("any host", {"ALLOWED_HOSTS": "*"}, "ALLOWED_HOSTS contains '*'"),
    ("no site url", {"SITE_URL": ""}, "SITE_URL is not set"),
    ("plain http", {"SITE_URL": "http://groups.example.org"}, "SITE_URL must start with https://"),
    ("sqlite", {"DATABASE_URL": "sqlite:////tmp/x.sqlite3"}, "DATABASE_URL points at SQLite"),
    ("no database url", {"DATABASE_URL": None}, "DATABASE_URL points at SQLite"),
    ("console email", {"EMAIL_URL": "consolemail://"}, "EMAIL_URL is not a real mail server"),
    ("dummy email", {"EMAIL_URL": "dummymail://"}, "EMAIL_URL is not a real mail server"),
    ("file email", {"EMAIL_URL": "filemail:///tmp/mail"}, "EMAIL_URL is not a real mail server"),
    ("no stripe key", {"STRIPE_SECRET_KEY": None}, "STRIPE_SECRET_KEY is not set"),
    ("no webhook secret", {"STRIPE_WEBHOOK_SECRET": None}, "STRIPE_WEBHOOK_SECRET is not set"),
    ("no text provider", {"TWILIO_FROM_NUMBER": None}, "TWILIO_FROM_NUMBER are not all set"),
    ("the static video link", {"VIDEO_PROVIDER": "static"}, "VIDEO_PROVIDER is static"),
    ("no broker", {"REDIS_URL": None}, "REDIS_URL is not set"),
    ("build-only at run time", {"BUILD_ONLY": "true"}, "BUILD_ONLY is set"),
]


@pytest.mark.parametrize(("case", "change", "message"), REFUSALS, ids=[c for c, _, _ in REFUSALS])
def test_production_refuses_to_start_unsafe(case, change, message):
    env = {**PRODUCTION_ENV, **{k: v for k, v in change.items() if v is not None}}
    for key in [k for k, v in change.items() if v is None]:
        del env[key]
    result = run_settings(env, "DEBUG")
    assert result.returncode != 0, case
    assert "grouport refuses to start with DJANGO_ENV=production" in result.stderr
    assert message in result.stderr, result.stderr[-2000:]


def test_every_problem_is_listed_at_once():
    result = run_settings({"DJANGO_ENV": "production", "DEBUG": "True"}, "DEBUG")
    assert result.returncode != 0
    for message in ("DEBUG is on", "SECRET_KEY is not set", "ALLOWED_HOSTS is empty", "REDIS_URL is not set"):
        assert message in result.stderr


def test_build_only_is_honoured_by_collectstatic_alone(tmp_path):
    env = {
        "DJANGO_ENV": "production",
        "BUILD_ONLY": "true",
        "SECRET_KEY": "build-only-not-a-secret",
        "ALLOWED_HOSTS": "build",
        "SITE_URL": "https://build.invalid",
    }
    clean = {key: value for key, value in os.environ.items() if key not in ENV_VARS}
    clean.update(env, DJANGO_SETTINGS_MODULE="config.settings")
    check = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert check.returncode != 0 and "BUILD_ONLY is set" in check.stderr
    collect = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--dry-run"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert collect.returncode == 0, collect.stderr[-2000:]


def test_the_deploy_checks_pass_with_production_settings():
    """``manage.py check --deploy --fail-level WARNING``, as CI runs it."""
    clean = {key: value for key, value in os.environ.items() if key not in ENV_VARS}
    clean.update(PRODUCTION_ENV, DJANGO_SETTINGS_MODULE="config.settings")
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_defaults_need_no_environment():
    loaded = load_settings(
        {},
        "DEBUG",
        "SESSION_COOKIE_SECURE",
        "DATABASES",
        "CELERY_TASK_ALWAYS_EAGER",
        "CELERY_BROKER_URL",
        "EMAIL_BACKEND",
    )
    database = loaded["DATABASES"]["default"]
    assert database["ENGINE"] == "django.db.backends.sqlite3"
    assert database["NAME"] == str(ROOT / "db.sqlite3")
    assert database["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert loaded["CELERY_TASK_ALWAYS_EAGER"] is True
    assert loaded["CELERY_BROKER_URL"] == "memory://"
    assert loaded["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend"
    # Development mode: the production hardening is off, but not the site's own error pages
    # (make run shows a 404 as members see it; DEBUG=True gives Django's debug pages).
    assert loaded["DEBUG"] is False
    assert loaded["SESSION_COOKIE_SECURE"] is False


def test_redis_url_sends_tasks_to_the_broker():
    loaded = load_settings(
        {"REDIS_URL": "redis://redis:6379/0"}, "CELERY_TASK_ALWAYS_EAGER", "CELERY_BROKER_URL"
    )
    assert loaded["CELERY_TASK_ALWAYS_EAGER"] is False
    assert loaded["CELERY_BROKER_URL"] == "redis://redis:6379/0"


@pytest.mark.parametrize(
    "name",
    [
        "EMAIL_URL",
        "STRIPE_SECRET_KEY",
        "STRIPE_WEBHOOK_SECRET",
        "ALLOWED_HOSTS",
        "SITE_URL",
        "CARE_TEAM_EMAIL",
        "TWILIO_AUTH_TOKEN",
    ],
)
def test_compose_requires_the_production_secrets(services, name):
    with pytest.raises(LookupError):
        interpolate(app_env(services["web"])[name], host={})
