"""Lock helpers for groups' rows (the order: ``grouport/locks.py``)."""

from django.db.models import QuerySet

from grouport.locks import lock_order_check, lock_row, lock_rows
from groups.models import Group, GroupSession

# Tests switch this off to show that the race for the last seat is real without the lock
# (a control test); nothing else does.
LOCK_GROUP_ROW = True

# What a seat decision reads of a group. The group's row is the hot spot of a busy group:
# every microsecond under its lock is one nobody else can reserve in.
SEAT_FIELDS = ("id", "capacity", "status", "last_session_at", "price", "currency")


def lock_group(group_id: int, *, fields: tuple[str, ...] | None = SEAT_FIELDS) -> Group:
    """Lock and return the group row that guards its seats (``fields=None``: all of it)."""
    queryset = Group.objects.only(*fields) if fields else Group.objects.all()
    if not LOCK_GROUP_ROW:
        lock_order_check("group", group_id)
        return queryset.get(pk=group_id)
    return lock_row(queryset, group_id, kind="group")


def lock_groups(group_ids: list[int]) -> dict[int, Group]:
    """Lock several groups, in id order (a move, a change touching seats in many groups)."""
    return {group_id: lock_group(group_id) for group_id in sorted(set(group_ids))}


def lock_session(session_id: int) -> GroupSession:
    return lock_row(GroupSession.objects.all(), session_id, kind="session")


def lock_sessions(queryset: QuerySet[GroupSession]) -> QuerySet[GroupSession]:
    return lock_rows(queryset, kind="session")
