"""What logs must not keep: a client address, a query string, the secret part of a path.

A path like /groups/<slug>/ next to an address says who looked at a therapy group; a query
string can carry an email; a reset key or a token id in a path is a credential. The access
log (``grouport.gunicorn_logging``), gunicorn's error log and Django's request log all pass
through here.
"""

import logging
import re

SECRET_PATHS = (
    re.compile(r"^(/accounts/password/reset/key/)[^/]+"),
    re.compile(r"^(/accounts/confirm-email/)[^/]+"),
    re.compile(r"^(/api/auth/tokens/)[^/]+"),
    re.compile(r"^(/join/)[^/]+"),
    # A questionnaire's token, and whether its help page was shown, say something about a member.
    re.compile(r"^(/questions/)[^/]+(/(?:support|results)/?)?"),
    re.compile(r"^(/api/questionnaires/)[^/]+"),
)
ADDRESS = re.compile(r"\b(ip|addr|address|remote_addr|client)=\S*[^\s:,;]", re.IGNORECASE)


def redact_path(path: str | None) -> str:
    """Return ``path`` without its query string and with any secret segment replaced.

    ``None`` (gunicorn has no path for a request it could not parse) is an empty path.
    """
    path = (path or "").split("?", 1)[0]
    for pattern in SECRET_PATHS:
        path = pattern.sub(r"\1[redacted]", path)
    return path


def scrub_message(text: str) -> str:
    """Remove client addresses (``ip=1.2.3.4``) from a free-text log message."""
    return ADDRESS.sub(r"\1=[redacted]", text)


class RedactRequestPaths(logging.Filter):
    """For Django's request and server loggers: every path argument loses its secrets.

    Django logs "Unauthorized: /api/auth/tokens/<id>/" with the path as an argument; the
    request object it attaches (for error reporters) is left alone.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact_path(a) if isinstance(a, str) and a.startswith("/") else a for a in record.args
            )
        return True
