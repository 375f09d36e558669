"""What production refuses to start with, and why: a pure function of the settings.

Every embedded stand-in that makes ``make run`` work with nothing installed would, in
production, hurt real members: the offline "pay" button gives paid seats away, console or
file email prints members' mail into logs and sends nothing, SQLite has no row locks,
eager tasks never run the periodic jobs, a development key signs sessions anyone can forge.
So ``DJANGO_ENV=production`` fails closed: the settings collect every problem below and
refuse to load, with the fix an operator needs for each.
"""

from collections.abc import Iterable

# Keys that are in this repository or its docs, so known to anyone.
KNOWN_KEYS = ("dev-only-insecure-key-change-me", "build-only-not-a-secret", "dev", "change-me")
MIN_SECRET_KEY_LENGTH = 50
# A random 50-character key has about 30 different characters; "abcde" * 12 has 5.
MIN_SECRET_KEY_DISTINCT = 16
NOT_REAL_EMAIL = ("console", "dummy", "filebased", "locmem")


PRODUCTION_NAMES = ("production", "prod")
DEVELOPMENT_NAMES = ("development", "dev", "test", "")


def is_production(django_env: str) -> bool:
    """Read DJANGO_ENV; a value that is neither is an error, not a quiet development mode.

    "Production" or "prod" must not start the site with the offline pay button and a
    published key because of a capital letter.
    """
    name = (django_env or "").strip().lower()
    if name in PRODUCTION_NAMES:
        return True
    if name in DEVELOPMENT_NAMES:
        return False
    raise ValueError(f"DJANGO_ENV is {django_env!r}: set it to 'production' or 'development'.")


def production_problems(
    *,
    debug: bool,
    secret_key: str,
    allowed_hosts: Iterable[str],
    site_url: str,
    database_engine: str,
    email_backend: str,
    stripe_secret_key: str,
    stripe_webhook_secret: str,
    redis_url: str,
    care_team_email: str,
    twilio: tuple[str, str, str] = ("", "", ""),
    clinic: tuple[str, str, str] = ("", "", ""),
    video: tuple[str, str, str, str] = ("static", "", "", ""),
    build_only: bool,
    collecting_static: bool,
) -> list[str]:
    """Return one sentence per reason production must not start (empty: all is well)."""
    if build_only and collecting_static:
        return []  # the image build collects static files with placeholder values
    problems = []
    if build_only:
        problems.append(
            "BUILD_ONLY is set: it is only for `manage.py collectstatic` at image build. Unset it "
            "for the running service (it would switch these checks off)."
        )
    if debug:
        problems.append(
            "DEBUG is on: unset DEBUG (or set DEBUG=False). Debug pages show code, settings and "
            "members' data to anyone who causes an error."
        )
    key = secret_key or ""
    if not key:
        problems.append(
            "SECRET_KEY is not set. Generate one: "
            "python -c 'import secrets; print(secrets.token_urlsafe(64))'"
        )
    elif key in KNOWN_KEYS or key.startswith("django-insecure"):
        problems.append("SECRET_KEY is a development or published key: generate a new random one.")
    elif len(key) < MIN_SECRET_KEY_LENGTH or len(set(key)) < MIN_SECRET_KEY_DISTINCT:
        problems.append(
            f"SECRET_KEY is too short or too simple ({len(key)} characters): use a random string of "
            f"at least {MIN_SECRET_KEY_LENGTH}."
        )
    hosts = [h.strip() for h in allowed_hosts if h.strip()]
    if not hosts:
        problems.append("ALLOWED_HOSTS is empty: set the host names the site answers to (comma-separated).")
    elif "*" in hosts:
        problems.append("ALLOWED_HOSTS contains '*': list the site's host names instead of accepting any.")
    for host in hosts:
        if host.startswith(".") and "." not in host[1:]:
            problems.append(
                f"ALLOWED_HOSTS contains {host!r}, which accepts every site under a top-level domain: "
                "list the site's own host names (e.g. groups.example.org)."
            )
    if not site_url:
        problems.append(
            "SITE_URL is not set: emails need the site's address, e.g. https://groups.example.org."
        )
    elif not site_url.startswith("https://"):
        problems.append(
            f"SITE_URL must start with https:// (it is {site_url!r}): links in emails carry sign-in keys."
        )
    if "sqlite" in database_engine:
        problems.append(
            "DATABASE_URL points at SQLite (or is unset): set a PostgreSQL URL, e.g. "
            "postgres://user:password@host:5432/grouport."
        )
    if not email_backend or any(f".{kind}." in email_backend for kind in NOT_REAL_EMAIL):
        problems.append(
            "EMAIL_URL is not a real mail server (console, file, memory or dummy mail would drop or "
            "print members' email): set e.g. smtp+tls://user:password@smtp.example.org:587."
        )
    if not stripe_secret_key:
        problems.append(
            "STRIPE_SECRET_KEY is not set: without it the offline test-mode pay button would give seats away."
        )
    if not stripe_webhook_secret:
        problems.append("STRIPE_WEBHOOK_SECRET is not set: without it no payment can be confirmed.")
    if not redis_url:
        problems.append(
            "REDIS_URL is not set: the Celery broker (reminders, emails, refunds) and the shared cache "
            "that keeps sign-in limits across workers need it, e.g. redis://redis:6379/0."
        )
    if not all(twilio):
        problems.append(
            "TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM_NUMBER are not all set: a safety "
            "alert could not text or call the clinician on call, and texts would be printed to the log."
        )
    if not all(part.strip() for part in clinic):
        problems.append(
            "CLINIC_LEGAL_NAME, CLINIC_ADDRESS and CLINIC_TAX_ID are not all set: receipts and "
            "superbills must name the clinic, its address and its tax id."
        )
    provider, *jitsi = video
    if provider == "local":
        problems.append(
            "VIDEO_PROVIDER is local: the stand-in room of make run holds no video. "
            "Set VIDEO_PROVIDER=jitsi with JITSI_DOMAIN, JITSI_APP_ID and JITSI_APP_SECRET "
            "(or JITSI_PRIVATE_KEY), or daily with DAILY_DOMAIN and DAILY_API_KEY."
        )
    elif provider == "static":
        problems.append(
            "VIDEO_PROVIDER is static: every session would share one link anyone can keep and pass on. "
            "Set VIDEO_PROVIDER=jitsi with JITSI_DOMAIN, JITSI_APP_ID and JITSI_APP_SECRET "
            "(or JITSI_PRIVATE_KEY)."
        )
    elif provider == "daily" and not all(jitsi[:2]):
        problems.append("VIDEO_PROVIDER is daily but DAILY_DOMAIN and DAILY_API_KEY are not both set.")
    elif provider == "jitsi" and not all(jitsi):
        problems.append(
            "VIDEO_PROVIDER is jitsi but JITSI_DOMAIN, JITSI_APP_ID and a secret or key are not all set."
        )
    elif provider == "jitsi" and "PRIVATE KEY" not in jitsi[2] and len(jitsi[2]) < 32:
        problems.append(
            "JITSI_APP_SECRET is shorter than 32 characters: a token signed with it could be forged."
        )
    domain = care_team_email.rpartition("@")[2].lower()
    if not care_team_email or not domain or domain == "localhost" or domain.endswith(".local"):
        problems.append(
            "CARE_TEAM_EMAIL is not a real address: safety alerts, residence flags, disputes and "
            "failed refunds would reach nobody on the care team. Set the clinic's shared address."
        )
    return problems
