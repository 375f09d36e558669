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
    "alert_id",
    "content_type_id",
    "slug",
    "version",
    "report",
    "kind",  # a receipt's kind: payment or refund
    "reservation_id",  # a seat's id (a superbill's)
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


def test_sentry_started_with_a_dsn_sends_no_default_personal_data_and_scrubs_every_event():
    import logging

    import sentry_sdk
    from sentry_sdk.transport import Transport

    from grouport.sentry import scrub, sentry_init

    class Kept(Transport):
        """Keeps what would have gone to Sentry, instead of sending it."""

        def __init__(self, options=None) -> None:
            super().__init__(options)
            self.sent: list = []

        def capture_envelope(self, envelope) -> None:
            self.sent.append(envelope)

    # Built, not written out: the source lines Sentry sends around a frame are this test's.
    email, address = "ana" + "@example.test", ".".join(["203", "0", "113", "9"])
    global_scope = sentry_sdk.get_global_scope()
    before = global_scope.client
    sentry_init(dsn="https://key@sentry.example.invalid/1", environment="test")
    client = sentry_sdk.get_client()
    try:
        assert client.options["send_default_pii"] is False
        assert client.options["before_send"] is scrub and client.options["before_send_transaction"] is scrub
        client.transport = kept = Kept(client.options)
        with sentry_sdk.isolation_scope():
            sentry_sdk.set_user({"email": email, "ip_address": address})
            logging.getLogger("grouport.test").warning("sending a reminder to %s", email)  # a breadcrumb
            try:
                member_email = email  # a local variable of the failing frame
                raise ValueError("no seat for that member")
            except ValueError:
                sentry_sdk.capture_exception()
        client.flush(timeout=2)
    finally:
        client.close(timeout=2)
        global_scope.set_client(before)  # the next tests run without Sentry, as before
    [envelope] = kept.sent
    [event] = [item.payload.json for item in envelope.items if item.type == "event"]
    assert event["environment"] == "test" and event["exception"]["values"][0]["type"] == "ValueError"
    assert email not in json.dumps(event) and address not in json.dumps(event), member_email
    assert "user" not in event


@pytest.mark.parametrize("level", ["critical", "error", "warning", "info", "debug", "exception"])
def test_every_level_of_gunicorns_error_log_loses_the_client_address(level):
    import logging

    from gunicorn.config import Config

    from grouport.gunicorn_logging import PrivateAccessLogger

    loggers = [logging.getLogger("gunicorn.error"), logging.getLogger("gunicorn.access")]
    saved = [(logger, logger.handlers[:], logger.level, logger.propagate) for logger in loggers]
    config = Config()
    config.set("loglevel", "debug")
    log = PrivateAccessLogger(config)  # sets up gunicorn's loggers: put back after
    written: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = written.append
    log.error_log.addHandler(handler)
    try:
        try:
            raise OSError("Invalid header")
        except OSError:  # gunicorn logs its exceptions from inside the handler
            getattr(log, level)("Invalid request from ip=203.0.113.9: Invalid header")
    finally:
        for logger, handlers, loglevel, propagate in saved:
            logger.handlers[:] = handlers
            logger.setLevel(loglevel)
            logger.propagate = propagate
    [record] = written
    assert record.getMessage() == "Invalid request from ip=[redacted]: Invalid header"
    assert record.levelname == ("ERROR" if level == "exception" else level.upper())
