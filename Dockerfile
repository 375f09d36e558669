# grouport: one image for the web server (gunicorn), the Celery worker and Celery beat.
# docker-compose.yml runs all three from it; tests/test_deployment.py checks the pairing.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    WEB_CONCURRENCY=3

WORKDIR /app

# An unprivileged user runs every process; the code and collected static files stay
# owned by root, so the running app cannot rewrite them.
RUN groupadd --system app \
    && useradd --system --gid app --home-dir /app --no-create-home --shell /usr/sbin/nologin app

# Dependencies first, so a code change does not reinstall them. All are wheels
# (psycopg2-binary included): no compiler is needed. Receipts' PDFs are drawn by ReportLab
# with its built-in fonts: no system library or font package either.
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .

# Static files are collected (and compressed/hashed for WhiteNoise) at build time. BUILD_ONLY
# lets this one command run with placeholder values (it touches no database, mail or
# payments); any other command refuses BUILD_ONLY, and the real values come from the
# environment at run time.
RUN DJANGO_ENV=production BUILD_ONLY=true SECRET_KEY=build-only-not-a-secret ALLOWED_HOSTS=build SITE_URL=https://build.invalid \
    python manage.py collectstatic --noinput

USER app

EXPOSE 8000

# config/gunicorn.conf.py: bind 0.0.0.0:8000, WEB_CONCURRENCY workers (3 unless the
# environment says otherwise), a 30 s timeout, and an access log without client addresses,
# query strings or secret path segments. Migrations are compose's one-shot `migrate` service.
CMD ["gunicorn", "-c", "config/gunicorn.conf.py", "config.wsgi:application"]
