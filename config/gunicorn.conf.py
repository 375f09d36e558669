"""gunicorn's settings for production (the Dockerfile and docker-compose pass ``-c`` this file)."""

import os

from grouport.gunicorn_logging import ACCESS_LOG_FORMAT

bind = "0.0.0.0:8000"
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
# Threads per worker: a request waiting on a slow provider (Stripe stalling, at most
# billing.gateway.stripe_worst_case_seconds) holds one thread, not a whole worker, so the
# catalog and every other page keep answering meanwhile.
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "4"))
# A request still running after this is killed and logged: none should take near it.
timeout = 30
graceful_timeout = 30
keepalive = 5
accesslog = "-"
access_log_format = ACCESS_LOG_FORMAT
logger_class = "grouport.gunicorn_logging.PrivateAccessLogger"
# The image's user cannot write a control socket in its home; nothing uses one.
control_socket_disable = True
