"""Optional error reporting: Sentry when ``SENTRY_DSN`` is set, never with personal data.

Sentry's defaults already leave out cookies, users and request bodies
(``send_default_pii=False``); ``scrub`` removes what is left that may name a member: the
query string, headers, the user, local variables and breadcrumb messages.
"""

from typing import Any


def scrub(event: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    """Remove personal data from an event before it leaves the server."""
    request = event.get("request") or {}
    for key in ("query_string", "cookies", "data", "headers", "env"):
        request.pop(key, None)
    event.pop("user", None)
    for exception in (event.get("exception") or {}).get("values") or []:
        for frame in (exception.get("stacktrace") or {}).get("frames") or []:
            frame.pop("vars", None)
    for crumb in (event.get("breadcrumbs") or {}).get("values") or []:
        crumb.pop("message", None)
        crumb.pop("data", None)
    return event


def sentry_init(*, dsn: str, environment: str) -> None:
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        send_default_pii=False,
        include_local_variables=False,
        max_request_body_size="never",
        before_send=scrub,
        before_send_transaction=scrub,
        traces_sample_rate=0.0,
        integrations=[DjangoIntegration(), CeleryIntegration()],
    )
