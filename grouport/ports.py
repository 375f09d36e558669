"""What the accounts layer needs from the parts above it, as ports they fill in when they start.

A member's state of residence changing means something for their seats (a therapy seat
the therapist may no longer hold for them, an offer they may no longer take): seats decide
what, inside the change's transaction, and say what the member must be told. A port with
one answer, not a signal: a second receiver could not silently merge its sentences in.
"""

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from grouport.models import User


class ResidenceChange(Protocol):
    def __call__(self, *, member: "User", old_state: str, new_state: str, actor: "User | None") -> list[str]:
        """Act on ``member``'s move from ``old_state`` to ``new_state`` (in the caller's
        transaction); return the sentences to show the member."""
        ...


_residence_change: list[ResidenceChange] = []


def residence_change_provide(handler: ResidenceChange) -> None:
    _residence_change[:] = [handler]


def residence_change(*, member: "User", old_state: str, new_state: str, actor: "User | None") -> list[str]:
    """What a change of state means; nothing when no part above cares (accounts alone)."""
    if not _residence_change:
        return []
    return list(_residence_change[0](member=member, old_state=old_state, new_state=new_state, actor=actor))
