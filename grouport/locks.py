"""Row locks: one way to take them, and one order to take them in.

Every row lock in the code is taken here, through the lock helpers each app keeps in its
``lock_objects.py`` (saleor keeps one per app; pretix's rule is "lock once per transaction").
They lock ``FOR NO KEY UPDATE`` (a row that merely points at a locked one, an audit entry or
a new reservation, does not wait behind it) and only the rows of the model asked for
(``OF self``: a ``select_related`` join must never lock the joined rows, the group behind a
reservation, say, out of order).

The order, everywhere (``LOCK_ORDER``): a member, then groups, sessions, reservations, a
seat's records (attendance, attendance flags, residence and safety alerts, questionnaires,
reminders), waitlist entries, promotion codes, payments, refunds; rows of one kind by
ascending id. (A seat's
records come before waitlist entries because a clinician's decision on a flag can end the
seat, and ending a seat offers it to the waitlist and refunds it.) Two transactions that take
locks in one order cannot deadlock: a therapist ending a seat while its member cancels it
queue on the group, and one goes after the other.

The order is checked as the locks are taken (``lock_order_check``): outside production a
lock out of order raises ``LockOrderViolation``, so any test that runs the code finds it;
in production it is logged. A row locked again later in the same transaction (a service
calling another that locks what it already holds) is allowed: it waits for nothing. A
service that touches several groups locks them all first, in id order.

``tests/test_locks.py`` fails on any ``select_for_update`` outside this module and on any lock
helper outside an app's ``lock_objects.py``.
"""

import logging
from collections.abc import Iterable
from typing import TypeVar

from django.conf import settings
from django.db import connection, models

logger = logging.getLogger(__name__)

M = TypeVar("M", bound=models.Model)

LOCK_ORDER = (
    "member",
    "group",
    "session",
    "reservation",
    "seat_record",
    "waitlist_entry",
    "promo_code",
    "payment",
    "refund",
)
RANK = {kind: rank for rank, kind in enumerate(LOCK_ORDER)}


class LockOrderViolation(RuntimeError):
    """A lock asked for out of the documented order: two such transactions can deadlock."""


class _Held:
    """The locks one transaction has taken so far."""

    def __init__(self) -> None:
        self.top = -1  # the highest rank taken
        self.last: dict[int, object] = {}  # rank -> the last id taken one at a time
        self.rows: set[tuple[int, object]] = set()


def _transaction() -> tuple[object, object] | None:
    """The transaction being run, and what tells one run of it from the next.

    It is the outermost atomic block that is not a test's own: a test case wraps each test in
    a transaction of its own (flagged ``_from_testcase``), so the service's outermost block is
    what a real request would have committed. Inside a test's transaction that block is a
    savepoint, whose id is new each time it is entered (a decorator's block object is reused
    call after call).
    """
    for index, block in enumerate(connection.atomic_blocks):
        if not getattr(block, "_from_testcase", False):
            # The outermost block opens no savepoint; each block inside it pushes one id.
            run = connection.savepoint_ids[index - 1] if index else "outermost"
            return block, run
    return None


def lock_order_check(kind: str, pk: object = None) -> None:
    """Record that this transaction locks a ``kind`` row (``pk``: one row; None: a set of
    rows), and complain if that breaks the order."""
    if kind not in RANK:
        raise ValueError(f"unknown lock kind {kind!r}: add it to grouport.locks.LOCK_ORDER")
    current = _transaction()
    if current is None:
        return
    block, run = current
    held: _Held | None = getattr(block, "_grouport_locks", None)
    if held is None or getattr(block, "_grouport_locks_run", None) != run:
        held = _Held()
        block._grouport_locks, block._grouport_locks_run = held, run
    rank = RANK[kind]
    again = pk is not None and (rank, pk) in held.rows
    problem = None
    if not again and rank < held.top:
        problem = f"a {kind} lock after a {LOCK_ORDER[held.top]} lock"
    elif not again and pk is not None and rank in held.last and _before(pk, held.last[rank]):
        problem = f"{kind} {pk} after {kind} {held.last[rank]} (rows of one kind go by ascending id)"
    if problem is not None:
        message = f"lock order broken: {problem}; the order is {' > '.join(LOCK_ORDER)}"
        if getattr(settings, "LOCK_ORDER_STRICT", False):
            raise LockOrderViolation(message)
        logger.error(message)
    held.top = max(held.top, rank)
    if pk is not None:
        held.rows.add((rank, pk))
        if not again:
            held.last[rank] = pk


def _before(a: object, b: object) -> bool:
    try:
        return a < b  # type: ignore[operator]
    except TypeError:
        return False


def lock_rows(
    queryset: models.QuerySet[M], *, kind: str, of: Iterable[str] = ("self",)
) -> models.QuerySet[M]:
    """``queryset`` locked ``FOR NO KEY UPDATE OF`` its own rows, taken in id order (the lock
    order: two transactions locking overlapping sets take them the same way round); sort
    them in Python when another order is wanted."""
    assert connection.in_atomic_block, "rows are locked inside transaction.atomic()"
    lock_order_check(kind)
    return queryset.order_by("pk").select_for_update(no_key=True, of=tuple(of))


def lock_all(queryset: models.QuerySet[M], *, kind: str) -> list[M]:
    """Lock every row of ``queryset`` now, in id order, and remember each: a service that
    then locks one of them again (``lock_row``) waits for nothing and breaks no order."""
    rows = list(lock_rows(queryset, kind=kind))
    current = _transaction()
    if current is not None and rows:
        block, _run = current
        held: _Held = block._grouport_locks
        rank = RANK[kind]
        held.rows.update((rank, row.pk) for row in rows)
        held.last[rank] = max(held.last.get(rank, rows[-1].pk), rows[-1].pk)
    return rows


def lock_row(queryset: models.QuerySet[M], pk: object, *, kind: str) -> M:
    """The row ``pk`` of ``queryset``, locked ``FOR NO KEY UPDATE OF`` itself (the order checked)."""
    assert connection.in_atomic_block, "rows are locked inside transaction.atomic()"
    lock_order_check(kind, pk)
    return queryset.select_for_update(no_key=True, of=("self",)).get(pk=pk)
