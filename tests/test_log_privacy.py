"""Logs keep no secret from a path: redaction comes from the URL patterns themselves, so a
route added with a token in its path is covered the day it is added."""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from grouport import log_privacy
from grouport.log_privacy import SECRET_ARGUMENT, SECRET_PREFIXES, redact_path

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
