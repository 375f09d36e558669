"""What logs must not keep: a client address, a query string, the secret part of a path.

A path like /groups/<slug>/ next to an address says who looked at a therapy group; a query
string can carry an email; a reset key or a token id in a path is a credential. The access
log (``grouport.gunicorn_logging``), gunicorn's error log and Django's request log all pass
through here.
"""

import functools
import logging
import re

# A path argument whose name says it is a credential or names a person: a join or
# questionnaire token, an API token's id, a reset or confirmation key, a user id in base 36.
# ``tests/test_log_privacy.py`` walks the URL patterns: every argument of every route is
# either named here or known not to be secret.
SECRET_ARGUMENT = re.compile(r"token|key|uid|secret|code", re.IGNORECASE)

# Where the URL conf cannot be loaded (gunicorn's master process logs before any worker has
# one): everything after these prefixes is redacted. The test checks every secret route
# starts with one of them, so a new route cannot slip past this list either.
SECRET_PREFIXES = (
    "/api/auth/tokens/",
    "/api/join/",
    "/api/questionnaires/",
    "/accounts/confirm-email/",
    "/accounts/password/reset/key/",
    "/account/tokens/",
    "/join/",
    "/questions/",
    "/video/stand-in/",
)


@functools.cache
def secret_path_patterns() -> tuple[tuple[re.Pattern, tuple[str, ...]], ...]:
    """For every route with a secret argument: its regex (matching a path's start, so a longer
    path is covered too) and the names of its secret arguments. Built from the URL conf."""
    from django.urls import URLPattern, URLResolver, get_resolver

    found: list[tuple[re.Pattern, tuple[str, ...]]] = []

    def walk(patterns, prefix: str) -> None:
        for pattern in patterns:
            regex = pattern.pattern.regex.pattern.lstrip("^")
            regex = re.sub(r"(\\Z|\$)$", "", regex)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, prefix + regex)
            elif isinstance(pattern, URLPattern):
                full = prefix + regex
                secret = tuple(n for n in re.compile(full).groupindex if SECRET_ARGUMENT.search(n))
                if secret:
                    # A path cut short of its last slash is still that route's (and its secret).
                    found.append((re.compile("^/" + (full + "?" if full.endswith("/") else full)), secret))

    walk(get_resolver().url_patterns, "")
    return tuple(found)


def redact_path(path: str | None) -> str:
    """Return ``path`` without its query string, and without anything from its first secret
    argument on (a page after a questionnaire's token says whether a safety answer was given).

    ``None`` (gunicorn has no path for a request it could not parse) is an empty path.
    """
    path = (path or "").split("?", 1)[0]
    try:
        patterns = secret_path_patterns()
    except Exception:  # the URL conf is not loaded (gunicorn's master): redact by prefix
        for prefix in SECRET_PREFIXES:
            if path.startswith(prefix) and len(path) > len(prefix):
                return f"{prefix}[redacted]/"
        return path
    for regex, names in patterns:
        match = regex.match(path)
        if match is not None:
            start = min(match.start(name) for name in names if match.start(name) >= 0)
            tail = "/" if path[start:].count("/") else ""
            return f"{path[:start]}[redacted]{tail}"
    return path


ADDRESS = re.compile(r"\b(ip|addr|address|remote_addr|client)=\S*[^\s:,;]", re.IGNORECASE)


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
