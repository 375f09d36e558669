"""Settings for grouport, read from the environment.

Every value has a working local default, so a fresh clone runs with no ``.env`` file:
SQLite, eager Celery tasks, console email and the offline payment stand-in. Production
differs only by environment variables (``DJANGO_ENV=production`` switches on the
hardening below). ``ENV_VARS`` lists every variable read here; the docker-compose test
checks the deployment against it.
"""

import datetime as dt
import sys
from pathlib import Path

import environ

from config.settings.safety import is_production, production_problems

BASE_DIR = Path(__file__).resolve().parent.parent.parent

ENV_VARS = (
    "DJANGO_ENV",
    "SECRET_KEY",
    "DEBUG",
    "ALLOWED_HOSTS",
    "SITE_URL",
    "DATABASE_URL",
    "REDIS_URL",
    "EMAIL_URL",
    "DEFAULT_FROM_EMAIL",
    "STRIPE_SECRET_KEY",
    "STRIPE_WEBHOOK_SECRET",
    "STRIPE_API_BASE",
    "STRIPE_CONNECT_TIMEOUT",
    "STRIPE_READ_TIMEOUT",
    "STRIPE_MAX_NETWORK_RETRIES",
    "SERVICE_STATES",
    "CONN_MAX_AGE",
    "LOG_LEVEL",
    "SECURE_SSL_REDIRECT",
    "RESERVATION_HOLD_MINUTES",
    "WAITLIST_OFFER_HOURS",
    "INTAKE_FRESH_DAYS",
    "REVIEW_HOLD_DAYS",
    "REVIEW_PAYMENT_HOURS",
    "REFUND_FULL_BEFORE_HOURS",
    "REMINDER_HOURS_BEFORE",
    "JOIN_OPENS_MINUTES_BEFORE",
    "CARE_TEAM_EMAIL",
    "ONCALL_EMAIL",
    "TWILIO_ACCOUNT_SID",
    "TWILIO_AUTH_TOKEN",
    "TWILIO_FROM_NUMBER",
    "TWILIO_API_BASE",
    "TWILIO_WEBHOOK_SHARED_KEY",
    "TWILIO_TIMEOUT_SECONDS",
    "TEXT_QUIET_HOURS",
    "TEXT_REMINDER_MINUTES",
    "ALERT_ESCALATE_MINUTES",
    "VIDEO_PROVIDER",
    "JITSI_DOMAIN",
    "JITSI_APP_ID",
    "JITSI_APP_SECRET",
    "JITSI_PRIVATE_KEY",
    "JITSI_KEY_ID",
    "DAILY_API_KEY",
    "DAILY_DOMAIN",
    "DAILY_API_BASE",
    "OUTCOME_OPEN_DAYS",
    "CONTACT_EMAIL",
    "MOVE_PAY_HOURS",
    "CLINIC_LEGAL_NAME",
    "CLINIC_ADDRESS",
    "CLINIC_TAX_ID",
    "TRUSTED_PROXY_COUNT",
    "API_TOKEN_TTL_HOURS",
    "SENTRY_DSN",
    "SENTRY_ENVIRONMENT",
    "BUILD_ONLY",
)

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DJANGO_ENV = env.str("DJANGO_ENV", default="development")
try:
    PRODUCTION = is_production(DJANGO_ENV)
except ValueError as exc:
    raise environ.ImproperlyConfigured(str(exc)) from None

SECRET_KEY = env.str("SECRET_KEY", default="" if PRODUCTION else "dev-only-insecure-key-change-me")
# Off unless asked for, in development too: `make run` shows members' pages as they will see
# them (the site's own 404 with the help link, not Django's list of URL patterns). DEBUG=True
# gives a developer Django's debug pages.
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=[] if PRODUCTION else ["127.0.0.1", "localhost", "testserver"]
)
SITE_URL = env.str("SITE_URL", default="" if PRODUCTION else "http://127.0.0.1:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = [SITE_URL] if SITE_URL else []

# The client's address comes from one setting, used alike by the audit trail, the logs,
# allauth's and DRF's rate limits: how many proxies in front of the app append to
# X-Forwarded-For. 0 (the default): the header is ignored, so a client cannot choose the
# address it is limited or recorded under.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
ALLAUTH_TRUSTED_PROXY_COUNT = TRUSTED_PROXY_COUNT

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "rest_framework",
    "knox",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "grouport",
    "groups",
    "intake",
    "texting",
    "enrollment",
    "attendance",
    "care",
    "billing",
    "portal",
    "reports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "grouport.middleware.PrivateResponseMiddleware",
    "grouport.middleware.UnprintableInputMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "grouport.middleware.MemberLanguageMiddleware",
    "grouport.middleware.SecondFactorMiddleware",
    "grouport.middleware.StaffTimeZoneMiddleware",
    "grouport.middleware.DomainErrorPageMiddleware",
    "grouport.middleware.AuditContextMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "grouport.context_processors.site",
            ],
        },
    },
]

# --- Database: SQLite by default; any DATABASE_URL (PostgreSQL in production and tests).
DATABASES = {"default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite has no row locks: a write transaction that starts IMMEDIATE takes the database
    # write lock up front, so a capacity check and the insert after it cannot interleave.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"transaction_mode": "IMMEDIATE", "timeout": 20})
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache: where rate limits (sign-in, API) are counted, so it must be shared by every
# process. Redis when REDIS_URL is set (production); otherwise a file cache in var/, which
# the processes of one machine share (make run). During a Redis outage each process counts
# on its own for a while (grouport/cache.py): sign-in still works and limits still hold.
if env.str("REDIS_URL", default=""):
    CACHES = {
        "default": {
            "BACKEND": "grouport.cache.FailoverRedisCache",
            "LOCATION": env.str("REDIS_URL"),
            "KEY_PREFIX": "grouport",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 2, "SOCKET_TIMEOUT": 2},
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(BASE_DIR / "var" / "cache"),
        }
    }

AUTH_USER_MODEL = "grouport.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "/my/"

# --- Accounts (django-allauth): email is the login, verified before any reservation.
ACCOUNT_ADAPTER = "grouport.adapters.AccountAdapter"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_SIGNUP_FORM_CLASS = "grouport.forms.ProfileSignupForm"
ACCOUNT_FORMS = {
    "login": "grouport.account_forms.SignInForm",
    "signup": "grouport.account_forms.SignUpForm",
}
ACCOUNT_USER_DISPLAY = "grouport.models.user_display"
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[grouport] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if PRODUCTION else "http"
# Sign-in limits, counted in the shared cache (so they hold across workers): 10 failed
# sign-ins a minute from one address, 5 in 5 minutes for one account, then 429.
ACCOUNT_RATE_LIMITS = {
    "login_failed": "10/m/ip,5/300s/key",
    "login": "30/m/ip",
    "signup": "20/m/ip",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "confirm_email": "1/180s/key",
    "change_password": "5/m/user",
    "reauthenticate": "10/m/user",
}

# --- Second factor (allauth.mfa): TOTP with recovery codes. Staff and therapists must have
# one before any admin page, roster, report or export opens (grouport/middleware.py);
# members may turn it on from their profile.
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "grouport"
# A code typed just as the app rolls over to the next one still counts (one 30-second step
# back): phones drift, and people type slowly. Each code still works only once.
MFA_TOTP_TOLERANCE = 1
MFA_RECOVERY_CODE_COUNT = 10

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# English and Spanish: many people in Florida, New York and New Jersey would rather read
# Spanish. The language comes from the switcher (a cookie), a member's profile, or the
# browser's Accept-Language, in that order; catalogs are compiled in locale/ (in the repo).
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("es", "Español")]
FORMAT_MODULE_PATH = ["grouport.formats"]
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_AGE = 60 * 60 * 24 * 365
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = "UTC"
USE_I18N = True
# A failed CSRF check (cookies gone, an old tab) is the site's own page, with the crisis line.
CSRF_FAILURE_VIEW = "grouport.views.csrf_failure"
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Outside production WhiteNoise serves straight from static/ (no collectstatic needed).
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = not PRODUCTION

# --- Email: printed to the console unless EMAIL_URL says otherwise (smtp+tls://user:pass@host:587).
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="grouport <no-reply@grouport.local>")

# --- Celery: with no REDIS_URL, tasks run eagerly in the web process (the embedded default).
REDIS_URL = env.str("REDIS_URL", default="")
# A unix-socket Redis (unix:///path, as the test runner's throw-away server gives) is named
# redis+socket:// by Celery's transport; redis-py takes the unix:// form.
CELERY_BROKER_URL = (
    REDIS_URL.replace("unix://", "redis+socket://", 1) if REDIS_URL.startswith("unix://") else REDIS_URL
) or "memory://"
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_TIME_LIMIT = 120
CELERY_TASK_SOFT_TIME_LIMIT = 90
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Redis re-delivers a task not acknowledged within this window; nothing may be scheduled
# further ahead than it (reminders come from a periodic job that reads the database).
# A Redis that hangs (accepts, never answers) must not hang a web request: a socket timeout
# on every broker command (above the worker's 1 s wait for new tasks).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 3600,
    "socket_timeout": 2,
    "socket_connect_timeout": 1,
}
CELERY_TIMEZONE = "UTC"
# A request that queues a task after its commit must not hang on a broker that is down:
# one try, then the outbox sweeper takes over, and the process stops trying for
# BROKER_DOWN_SECONDS (grouport/outbox.py), so one request pays a broker timeout, not all.
CELERY_PUBLISH_RETRY_POLICY = {
    "max_retries": 0,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
BROKER_DOWN_SECONDS = 10
CELERY_BROKER_CONNECTION_TIMEOUT = 2
# Celery closes the database connection around every task unless told to reuse it; a new
# PostgreSQL connection per reminder halved a worker's rate (bench/reminders.py). A bounded
# reuse count still replaces a connection now and then, and config/celery.py checks the
# connection around every task as Django does around a request (CONN_MAX_AGE, health checks),
# so a worker reconnects by itself after the database restarts.
CELERY_DB_REUSE_MAX = 200

# Row locks are taken in one order (grouport/locks.py). A lock out of order raises outside
# production, so every test that runs the code checks it; production logs it instead.
LOCK_ORDER_STRICT = not PRODUCTION

# --- Payments. No STRIPE_SECRET_KEY: the offline stand-in takes payments (local and demo).
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="")
# A stalled Stripe must not outlast a web request (gunicorn kills one at 30 s): seconds to
# connect and to wait for an answer, and how often the library tries again (billing/gateway.py).
STRIPE_CONNECT_TIMEOUT = env.float("STRIPE_CONNECT_TIMEOUT", default=2.0)
STRIPE_READ_TIMEOUT = env.float("STRIPE_READ_TIMEOUT", default=6.0)
STRIPE_MAX_NETWORK_RETRIES = env.int("STRIPE_MAX_NETWORK_RETRIES", default=1)
# Cancellation policy: cancelling at least this long before the first session refunds in full.
REFUND_FULL_BEFORE_HOURS = env.int("REFUND_FULL_BEFORE_HOURS", default=48)

# --- Seats: how long a hold lasts before payment, and how long a waitlist offer stays open.
RESERVATION_HOLD_MINUTES = env.int("RESERVATION_HOLD_MINUTES", default=30)
WAITLIST_OFFER_HOURS = env.int("WAITLIST_OFFER_HOURS", default=24)
# A move to a dearer group holds the new seat this long while the member pays the difference
# (at most 24 hours: Stripe's Checkout page lives no longer).
MOVE_PAY_HOURS = min(env.int("MOVE_PAY_HOURS", default=24), 24)

# --- Duty of care: an intake is confirmed again after this many days; a seat held for a
# clinician's review of the intake waits this long; an approved member has this long to pay
# (at most 24 hours: Stripe's Checkout page lives no longer).
INTAKE_FRESH_DAYS = env.int("INTAKE_FRESH_DAYS", default=365)
REVIEW_HOLD_DAYS = env.int("REVIEW_HOLD_DAYS", default=3)
REVIEW_PAYMENT_HOURS = min(env.int("REVIEW_PAYMENT_HOURS", default=24), 24)

# --- Reminders: hours before each session, largest first; the last one goes to everyone.
REMINDER_HOURS_BEFORE = tuple(env.list("REMINDER_HOURS_BEFORE", cast=int, default=[24, 1]))
# A member's join link opens this long before a session starts, and closes when it ends.
JOIN_OPENS_MINUTES_BEFORE = env.int("JOIN_OPENS_MINUTES_BEFORE", default=15)

# --- The outbox (grouport/outbox.py): every side effect is a row, delivered after commit.
# A delivery still running after its lease is presumed dead; the sweeper leaves messages
# younger than the grace period to the task queued at their commit.
OUTBOX_LEASE_MINUTES = 10
OUTBOX_GRACE_SECONDS = 10
# Who is alerted, besides a group's therapist, when a member's seat needs a clinician's
# review (a change of state) or a payment is disputed. No names go in these emails.
CARE_TEAM_EMAIL = env.str("CARE_TEAM_EMAIL", default="care-team@grouport.local")
# Who is alerted, with the group's therapist, within a minute of an answer that needs a person
# to look at once (PHQ-9 item 9 above "Not at all"): the clinic's on-call address.
ONCALL_EMAIL = env.str("ONCALL_EMAIL", default=CARE_TEAM_EMAIL)
# Outcome questionnaires: how long each stays open. (What change in a score is reliable is
# each measure's own, Measure.reliable_change, set in the admin.)
OUTCOME_OPEN_DAYS = env.int("OUTCOME_OPEN_DAYS", default=5)
# Where members write (the contact page): privacy requests, payments, questions.
CONTACT_EMAIL = env.str("CONTACT_EMAIL", default="hello@grouport.local")
# Who the receipts and superbills come from (billing/receipts.py): the clinic's legal name,
# its address (one line, or lines split by "|") and its tax id (EIN). Production refuses
# to start without them: a receipt without them is not one a benefits plan accepts.
CLINIC_LEGAL_NAME = env.str("CLINIC_LEGAL_NAME", default="" if PRODUCTION else "grouport Demo Clinic, PLLC")
CLINIC_ADDRESS = env.str(
    "CLINIC_ADDRESS", default="" if PRODUCTION else "1 Example Street, Suite 100|New York, NY 10001"
)
CLINIC_TAX_ID = env.str("CLINIC_TAX_ID", default="" if PRODUCTION else "00-0000000")

# --- Texts (texting/gateway.py): Twilio when an account is set, else printed to the console
# (``make run``; production refuses to start without it: safety alerts ring the on-call).
TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env.str("TWILIO_AUTH_TOKEN", default="")
TWILIO_FROM_NUMBER = env.str("TWILIO_FROM_NUMBER", default="")
TWILIO_API_BASE = env.str("TWILIO_API_BASE", default="")
# Set when webhooks are signed with a shared key (Twilio console: webhook signing keys).
TWILIO_WEBHOOK_SHARED_KEY = env.str("TWILIO_WEBHOOK_SHARED_KEY", default="")
# A stalled provider must not hold a worker: seconds to wait for an answer (then retried).
TWILIO_TIMEOUT_SECONDS = env.float("TWILIO_TIMEOUT_SECONDS", default=10.0)
# No text between these hours (start, end) where the member lives, unless its session is then.
TEXT_QUIET_HOURS = tuple(env.list("TEXT_QUIET_HOURS", cast=int, default=[21, 8]))
# A reminder text goes this many minutes before each session, to members who asked for texts.
TEXT_REMINDER_MINUTES = env.int("TEXT_REMINDER_MINUTES", default=60)
# A safety alert nobody acknowledged: the on-call is paged again, with the next on the rota,
# after this many minutes; everyone on the rota and the care-team lead after twice as many.
ALERT_ESCALATE_MINUTES = env.int("ALERT_ESCALATE_MINUTES", default=15)

# --- Video rooms (attendance/video.py): "local" (a stand-in room served by this site, for
# make run) or "static" (the group's own link), development only, production refuses both;
# "jitsi" (Jitsi Meet with JWT: a room per session, a token per
# admitted check-in) or "daily" (Daily's rooms and meeting tokens). Jitsi self-hosted:
# JITSI_APP_SECRET (HS256); 8x8's service: JITSI_PRIVATE_KEY (PEM) and JITSI_KEY_ID, with
# JITSI_APP_ID the tenant ("vpaas-magic-cookie-...").
VIDEO_PROVIDER = env.str("VIDEO_PROVIDER", default="local")
JITSI_DOMAIN = env.str("JITSI_DOMAIN", default="")
JITSI_APP_ID = env.str("JITSI_APP_ID", default="")
JITSI_APP_SECRET = env.str("JITSI_APP_SECRET", default="")
JITSI_PRIVATE_KEY = env.str("JITSI_PRIVATE_KEY", default="", multiline=True)
JITSI_KEY_ID = env.str("JITSI_KEY_ID", default="")
# Daily: the API key, the account's domain (yours.daily.co) and, for the tests' fake, the base.
DAILY_API_KEY = env.str("DAILY_API_KEY", default="")
DAILY_DOMAIN = env.str("DAILY_DOMAIN", default="")
DAILY_API_BASE = env.str("DAILY_API_BASE", default="https://api.daily.co/v1")

# --- The rule that shapes the product: therapy groups only for these states.
SERVICE_STATES = tuple(env.list("SERVICE_STATES", default=["FL", "NY", "NJ"]))

REST_FRAMEWORK = {
    # Token first: an API request without valid credentials answers 401 with
    # WWW-Authenticate: Token (DRF takes the header from the first class).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "grouport.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # A JSON object, or a 400 (grouport/parsers.py): checked once for every endpoint.
    "DEFAULT_PARSER_CLASSES": ["grouport.parsers.JSONObjectParser"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "EXCEPTION_HANDLER": "grouport.exceptions.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
# API tokens (django-rest-knox): stored hashed, expiring, listed and revoked by their owner,
# and revoked when the password changes (grouport/receivers.py).
API_TOKEN_TTL_HOURS = env.int("API_TOKEN_TTL_HOURS", default=14 * 24)
REST_KNOX = {
    "TOKEN_TTL": dt.timedelta(hours=API_TOKEN_TTL_HOURS),
    "AUTO_REFRESH": False,
    "TOKEN_LIMIT_PER_USER": 10,
    "AUTH_HEADER_PREFIX": "Token",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "grouport API",
    "DESCRIPTION": "Browse online DBT groups, check eligibility by state, and reserve a seat.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Served from our own static files: pages never load scripts from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Every error an operation can answer, documented (grouport/openapi.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "grouport.openapi.document_errors",
    ],
    "ENUM_NAME_OVERRIDES": {
        "StateEnum": "grouport.states.STATE_CHOICES",
        "QuestionnaireStatusEnum": "care.models.OutcomeSurvey.Status",
        "QuestionnaireTimePointEnum": "care.models.OutcomeSurvey.TimePoint",
        "ScreeningQuestionKindEnum": "intake.models.ScreeningQuestion.Kind",
        "GroupKindEnum": "groups.models.Group.Kind",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # Django logs "Unauthorized: <path>" for a refused request: the path loses its secrets.
    "filters": {"redact_paths": {"()": "grouport.log_privacy.RedactRequestPaths"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact_paths"]}
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- Headers. A strict Content-Security-Policy: every script and style is a file of our
# own (no inline code anywhere), nothing from another origin, and no framing.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "form-action": ["'self'", "https://checkout.stripe.com"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}
# No page needs a camera, a microphone, a location or a payment API (Stripe's page is its own).
PERMISSIONS_POLICY = {
    feature: []
    for feature in (
        "accelerometer", "autoplay", "camera", "display-capture", "encrypted-media", "fullscreen",
        "geolocation", "gyroscope", "magnetometer", "microphone", "midi", "payment", "usb",
    )
}  # fmt: skip
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True

# --- Error reporting (optional): Sentry when SENTRY_DSN is set, with no personal data.
SENTRY_DSN = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    from grouport.sentry import sentry_init

    sentry_init(dsn=SENTRY_DSN, environment=env.str("SENTRY_ENVIRONMENT", default=DJANGO_ENV))

BUILD_ONLY = env.bool("BUILD_ONLY", default=False)
if PRODUCTION:
    problems = production_problems(
        debug=DEBUG,
        secret_key=SECRET_KEY,
        allowed_hosts=ALLOWED_HOSTS,
        site_url=SITE_URL,
        database_engine=DATABASES["default"]["ENGINE"],
        email_backend=EMAIL_CONFIG["EMAIL_BACKEND"],
        stripe_secret_key=STRIPE_SECRET_KEY,
        stripe_webhook_secret=STRIPE_WEBHOOK_SECRET,
        redis_url=REDIS_URL,
        care_team_email=CARE_TEAM_EMAIL,
        twilio=(TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_FROM_NUMBER),
        clinic=(CLINIC_LEGAL_NAME, CLINIC_ADDRESS, CLINIC_TAX_ID),
        video=(
            (VIDEO_PROVIDER, JITSI_DOMAIN, JITSI_APP_ID, JITSI_APP_SECRET or JITSI_PRIVATE_KEY)
            if VIDEO_PROVIDER != "daily"
            else (VIDEO_PROVIDER, DAILY_DOMAIN, DAILY_API_KEY, "")
        ),
        build_only=BUILD_ONLY,
        collecting_static=sys.argv[1:2] == ["collectstatic"],
    )
    if problems:
        raise environ.ImproperlyConfigured(
            "grouport refuses to start with DJANGO_ENV=production:\n- " + "\n- ".join(problems)
        )
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = 60 * 60 * 24 * 365
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_HTTPONLY = True
