"""Logs and error reports keep no secret and no personal data: redaction of paths comes from the
URL patterns themselves, so a route added with a token in its path is covered the day it is
added; client addresses leave messages, and Sentry events are scrubbed."""

import json
import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from grouport import log_privacy
from grouport.log_privacy import (
    SECRET_ARGUMENT,
    SECRET_PREFIXES,
    RedactRequestPaths,
    redact_path,
    scrub_message,
)

pytestmark = pytest.mark.sqlite

# Path arguments that are not secret: ids, a group's public slug, a report's name, the
# admin's own. Anything else must be redacted (or added here, with a reason).
NOT_SECRET = {
    "pk",
    "id",
    "object_id",
    "flag_id",
    "content_type_id",
    "slug",
    "version",
    "report",
    "app_label",
    "url",
    "model",  # an admin model's name (a page moved with the split)
    "rest",  # the rest of that admin page's path (an object id, "change/")
}
SAMPLE = "Sp3cimen-value_42"


def _routes(patterns=None, prefix=""):
    for pattern in patterns if patterns is not None else get_resolver().url_patterns:
        regex = pattern.pattern.regex.pattern.lstrip("^")
        regex = re.sub(r"(\\Z|\$)$", "", regex)
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, prefix + regex)
        elif isinstance(pattern, URLPattern):
            yield prefix + regex


def _sample_path(regex: str, secret: str) -> str:
    """A path this route answers, with ``SAMPLE`` for the argument ``secret`` and ``1``
    (or "x") for the others."""

    def fill(match: re.Match) -> str:
        name = match.group(1)
        return SAMPLE if name == secret else "1"

    path = re.sub(r"\(\?P<(\w+)>(?:[^()]|\([^()]*\))*\)", fill, regex)
    return "/" + path.replace("\\", "")


def test_every_path_argument_of_every_route_is_redacted_or_known_not_to_be_secret():
    checked = []
    for regex in _routes():
        for name in re.compile(regex).groupindex:
            if name in NOT_SECRET:
                continue
            assert SECRET_ARGUMENT.search(name), (
                f"<{name}> in {regex}: name it like a secret (token, key...) or add it to NOT_SECRET"
            )
            path = _sample_path(regex, name)
            logged = redact_path(path + "?email=someone@example.test")
            assert SAMPLE not in logged and "someone" not in logged, (regex, logged)
            assert "[redacted]" in logged
            checked.append(name)
    assert {"token", "token_id", "key", "uidb36"} <= set(checked)


@pytest.mark.parametrize(
    ("path", "logged"),
    [
        ("/account/tokens/abc123/revoke/", "/account/tokens/[redacted]/"),  # logged in full before
        ("/api/auth/tokens/abcdef0123/?x=1", "/api/auth/tokens/[redacted]/"),
        ("/api/join/1-2:xyz/check-in/", "/api/join/[redacted]/"),
        ("/join/1-2:xyz", "/join/[redacted]"),  # cut short of its slash (APPEND_SLASH redirects it)
        ("/questions/6:abc/support/", "/questions/[redacted]/"),  # whether help was shown: gone too
        ("/groups/tuesday-evening/", "/groups/tuesday-evening/"),
        ("/reports/groups.csv", "/reports/groups.csv"),
    ],
)
def test_secret_parts_of_paths_are_redacted_and_the_rest_kept(path, logged):
    assert redact_path(path) == logged


def test_without_a_url_conf_every_secret_route_is_still_redacted_by_its_prefix(monkeypatch):
    """gunicorn's master logs before any URL conf is loaded: the static prefixes stand in."""
    secret_routes = [
        (regex, name)
        for regex in _routes()
        for name in re.compile(regex).groupindex
        if name not in NOT_SECRET and SECRET_ARGUMENT.search(name)
    ]
    assert secret_routes

    def unavailable():
        raise RuntimeError("no URL conf yet")

    monkeypatch.setattr(log_privacy, "secret_path_patterns", unavailable)
    for regex, name in secret_routes:
        path = _sample_path(regex, name)
        logged = redact_path(path + "?email=someone@example.test")
        assert SAMPLE not in logged and "someone" not in logged, (regex, logged)
        assert any(logged.startswith(prefix) for prefix in SECRET_PREFIXES)
    assert redact_path("/groups/tuesday-evening/?q=1") == "/groups/tuesday-evening/"


# --- Paths gunicorn could not parse, client addresses in messages, Django's request log, Sentry


@pytest.mark.django_db
def test_a_path_gunicorn_could_not_parse_is_an_empty_path_not_a_crash():
    assert redact_path(None) == ""
    assert redact_path("/api/auth/tokens/abcdef0123/?x=1") == "/api/auth/tokens/[redacted]/"
    # A questionnaire's token, and whether its help page was shown, stay out of access logs.
    assert redact_path("/questions/6:abc/support/") == redact_path("/questions/6:abc/results/")
    assert "6:abc" not in redact_path("/questions/6:abc/support/") + redact_path("/api/questionnaires/6:abc/")


@pytest.mark.django_db
def test_error_messages_lose_the_client_address():
    assert scrub_message("Invalid request from ip=203.0.113.9: Invalid header") == (
        "Invalid request from ip=[redacted]: Invalid header"
    )


@pytest.mark.django_db
def test_djangos_request_log_loses_the_secret_in_a_path():
    import logging

    record = logging.LogRecord(
        "django.request", logging.WARNING, "", 0, "%s: %s", ("Unauthorized", "/api/auth/tokens/abc123/"), None
    )
    RedactRequestPaths().filter(record)
    assert record.getMessage() == "Unauthorized: /api/auth/tokens/[redacted]/"


@pytest.mark.django_db
def test_sentry_events_are_scrubbed_of_personal_data():
    from grouport.sentry import scrub

    event = {
        "request": {"url": "https://x/my/", "query_string": "email=a@b", "cookies": {"sessionid": "s"},
                    "headers": {"Cookie": "s"}, "data": {"password": "p"}},
        "user": {"email": "a@b", "ip_address": "1.2.3.4"},
        "exception": {"values": [{"stacktrace": {"frames": [{"function": "f", "vars": {"member": "Ana"}}]}}]},
        "breadcrumbs": {"values": [{"message": "SELECT ... ana@example.test", "data": {"x": 1}}]},
    }  # fmt: skip
    cleaned = json.dumps(scrub(event))
    for leak in ("a@b", "sessionid", "password", "1.2.3.4", "Ana", "ana@example.test"):
        assert leak not in cleaned, leak
    assert "https://x/my/" in cleaned
