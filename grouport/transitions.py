"""The one way a status field changes: checked against its model's map, saved, audited.

Every model with a ``status`` declares ``TRANSITIONS``, a map from each status to the
statuses it may move to. ``transition`` moves one loaded row; ``transition_rows`` moves the
rows of a queryset that are still in a given status (a compare-and-set, for bookkeeping
rows moved in bulk such as reminders and outbox messages). A move the map does not allow
raises ``InvalidTransition``; nothing else in the code assigns a status (a test checks).
"""

import datetime as dt
from typing import Any, TypeVar

from django.db import models
from django.utils import timezone

from grouport.audit import audit_record
from grouport.exceptions import Conflict
from grouport.models import User

M = TypeVar("M", bound=models.Model)


class InvalidTransition(Conflict):
    code = "invalid_transition"
    default_detail = "That change is not possible now."


def audit_name(model: type[models.Model]) -> str:
    """Return the word a model's moves are audited under ("reservation", "waitlist"...)."""
    return getattr(model, "AUDIT_NAME", model._meta.model_name)


def allowed(model: type[models.Model], old: str, to: str) -> bool:
    """Return whether ``model``'s map lets a row in ``old`` move to ``to``."""
    return to in model.TRANSITIONS.get(old, ())


def transition(
    obj: M,
    *,
    to: str,
    actor: User | None = None,
    data: dict[str, Any] | None = None,
    fields: tuple[str, ...] = (),
    audit: bool = True,
    detail: str | None = None,
) -> M:
    """Move ``obj.status`` to ``to`` if its map allows it; save it with ``fields``; audit it.

    Call it on a row locked for the change. ``fields`` are other columns the caller set on
    ``obj`` that belong to the same move (a timestamp, say). ``audit=False`` is for pure
    delivery bookkeeping (reminders, outbox messages), whose rows are their own record.
    """
    model = type(obj)
    old = obj.status
    if not allowed(model, old, to):
        raise InvalidTransition(detail or f"A {model._meta.verbose_name} that is {old} cannot become {to}.")
    obj.status = to
    update = ["status", *fields]
    if any(f.name == "updated_at" for f in model._meta.concrete_fields):
        update.append("updated_at")
    obj.save(update_fields=update)
    if audit:
        audit_record(
            actor=actor,
            action=f"{audit_name(model)}.{to}",
            obj=obj,
            data={"from": old, "to": to, **(data or {})},
        )
    return obj


def transition_rows(
    queryset: models.QuerySet, *, old: str, to: str, now: dt.datetime | None = None, **values: Any
) -> int:
    """Move every row of ``queryset`` still in ``old`` to ``to`` (with ``values``); return how many.

    The filter on ``old`` makes it a compare-and-set: of two callers racing for the same
    row, one moves it and the other moves nothing.
    """
    model = queryset.model
    if not allowed(model, old, to):
        raise InvalidTransition(f"A {model._meta.verbose_name} that is {old} cannot become {to}.")
    if any(f.name == "updated_at" for f in model._meta.concrete_fields):
        values.setdefault("updated_at", now or timezone.now())
    return queryset.filter(status=old).update(status=to, **values)
