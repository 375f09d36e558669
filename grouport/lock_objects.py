"""Lock helpers for grouport's rows (the order: ``grouport/locks.py``)."""

from grouport.locks import lock_row
from grouport.models import User


def lock_member(member_id: int, *, fields: tuple[str, ...] | None = ("id", "state", "email")) -> User:
    """Lock a member's row first (their state cannot change while a seat is decided).

    ``fields=None`` loads the whole row (a profile change saves it).
    """
    queryset = User.objects.only(*fields) if fields else User.objects.all()
    return lock_row(queryset, member_id, kind="member")
