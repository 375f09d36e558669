"""The audit trail: one entry per state change or look at a member's data."""

from contextvars import ContextVar
from typing import Any

from django.db import models
from django.http import HttpRequest

from grouport.models import AuditEntry, User

# The address of the request being served, set by AuditContextMiddleware, so services deep
# below a view record where a change came from without every call passing the request.
current_ip: ContextVar[str | None] = ContextVar("current_ip", default=None)


def client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return current_ip.get()
    # Behind the production proxy, SECURE_PROXY_SSL_HEADER's proxy sets REMOTE_ADDR via
    # gunicorn's --forwarded-allow-ips; we never trust a client-sent X-Forwarded-For here.
    return request.META.get("REMOTE_ADDR") or None


def audit_record(
    *,
    actor: User | None,
    action: str,
    obj: models.Model,
    data: dict[str, Any] | None = None,
    request: HttpRequest | None = None,
) -> AuditEntry:
    """Record that ``actor`` did ``action`` to ``obj`` (``None`` actor: the system did)."""
    return AuditEntry.objects.create(
        actor=actor if actor is not None and actor.pk else None,
        action=action,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        data=data or {},
        ip_address=client_ip(request),
    )
