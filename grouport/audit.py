"""The audit trail: one entry per state change or look at a member's data."""

import ipaddress
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.db import models
from django.http import HttpRequest

from grouport.models import AuditEntry, User

# The address of the request being served, set by AuditContextMiddleware, so services deep
# below a view record where a change came from without every call passing the request.
current_ip: ContextVar[str | None] = ContextVar("current_ip", default=None)


def client_ip(request: HttpRequest | None) -> str | None:
    """Return the client's address: the one setting ``TRUSTED_PROXY_COUNT`` decides.

    With 0 proxies (the default) it is the connection's address and X-Forwarded-For is
    ignored, so a client cannot pick the address it is recorded or limited under. With N
    trusted proxies in front, it is the Nth address from the right of X-Forwarded-For (the
    one the outermost trusted proxy saw). DRF's throttles and allauth's limits read the same
    setting (``NUM_PROXIES``, ``ALLAUTH_TRUSTED_PROXY_COUNT``).
    """
    if request is None:
        return current_ip.get()
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies > 0 and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if len(hops) >= proxies:
            return _valid_ip(hops[-proxies])
    return _valid_ip(request.META.get("REMOTE_ADDR", ""))


def _valid_ip(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def audit_record(
    *,
    actor: User | None,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    data: dict[str, Any] | None = None,
    request: HttpRequest | None = None,
) -> AuditEntry:
    """Record that ``actor`` did ``action`` to ``obj`` (``None`` actor: the system did).

    Without an object (a list page, a search), name the kind of thing looked at instead.
    """
    return AuditEntry.objects.create(
        actor=actor if actor is not None and actor.pk else None,
        action=action,
        object_type=obj._meta.label_lower if obj is not None else object_type,
        object_id=str(obj.pk) if obj is not None else object_id,
        data=data or {},
        ip_address=client_ip(request),
    )
