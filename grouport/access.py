"""What each route shows, so that member data is guarded by what it is, not by its URL.

Every route is one of these (``tests/test_access_matrix.py`` fails on a route that is not):

- ``PUBLIC``: shows nothing about anyone (the catalog, help and trust pages, the schema).
- ``ACCOUNT``: signing in, up and out, recovering an account, enrolling a second factor.
- ``MEMBER``: the signed-in person's own seats, links, answers, profile and tokens.
- ``CLINICAL``: members of a group, for its therapist and for staff (the admin's group and
  session pages, rosters, alerts, live attendance).
- ``STAFF``: operations only (reports, money, users, the audit trail).
- ``WEBHOOK``: a provider's signed calls.

A view says what it is where it is written: ``@route_access(Access.MEMBER)`` on a function,
``access = Access.MEMBER`` on a class (DRF views included). The admin's pages follow their
``ModelAdmin`` (``access``, by default ``STAFF``; therapist-scoped ones are ``CLINICAL``);
allauth's are ``ACCOUNT``; drf-spectacular's schema and docs are ``PUBLIC``.

Staff and therapists can see members' health information, so until they have passed a
second factor they reach only ``PUBLIC`` and ``ACCOUNT`` routes (``SecondFactorMiddleware``),
default deny: a route added tomorrow is closed to them until someone classifies it.
"""

from collections.abc import Callable
from enum import StrEnum
from typing import TypeVar

from django.urls import ResolverMatch

F = TypeVar("F", bound=Callable)


class Access(StrEnum):
    PUBLIC = "public"
    ACCOUNT = "account"
    MEMBER = "member"
    CLINICAL = "clinical"
    STAFF = "staff"
    WEBHOOK = "webhook"


# What someone who must pass a second factor, and has not yet, may reach: what shows nobody,
# what they need to enrol one, and a provider's signed calls (which no session changes).
BEFORE_SECOND_FACTOR = frozenset({Access.PUBLIC, Access.ACCOUNT, Access.WEBHOOK})


def route_access(kind: Access) -> Callable[[F], F]:
    """Say what a function view shows (a decorator; put it outermost)."""

    def mark(view: F) -> F:
        view.access = kind  # type: ignore[attr-defined]
        return view

    return mark


def _admin_access(match: ResolverMatch) -> Access:
    from django.contrib import admin

    name = match.url_name or ""
    for model, model_admin in admin.site._registry.items():
        prefix = f"{model._meta.app_label}_{model._meta.model_name}_"
        if name.startswith(prefix):
            return getattr(model_admin, "access", Access.STAFF)
    # The admin's own pages (index, app lists, autocomplete): therapists use them, scoped.
    return Access.CLINICAL


def access_of(match: ResolverMatch | None) -> Access | None:
    """What the route ``match`` shows; ``None`` when nobody has said (treated as closed)."""
    if match is None:
        return None
    view = match.func
    for holder in (view, getattr(view, "cls", None), getattr(view, "view_class", None)):
        kind = getattr(holder, "access", None)
        if isinstance(kind, Access):
            return kind
    if "admin" in match.namespaces:
        return _admin_access(match)
    module = getattr(view, "__module__", "") or ""
    if module.startswith("allauth."):
        return Access.ACCOUNT
    if module.startswith("drf_spectacular."):
        return Access.PUBLIC
    return None
