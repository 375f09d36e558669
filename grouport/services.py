"""Changes to accounts: the member profile."""

import logging

from django.db import transaction

from grouport.audit import audit_record
from grouport.lock_objects import lock_member
from grouport.models import User
from grouport.ports import residence_change

logger = logging.getLogger(__name__)

PROFILE_FIELDS = ("first_name", "last_name", "state", "time_zone", "language")


def member_profile_update(*, member: User, data: dict[str, str], actor: User | None) -> list[str]:
    """Save validated profile ``data`` for ``member``; return what the member must be told.

    The member's row is locked first, so a payment settling for them at the same moment
    (which locks it too) sees either the old state or the new one, never half of each. A
    change of state is audited and handed to seats (``grouport.ports.residence_change``) in
    the same transaction: they decide there what it means for the member's seats.
    """
    with transaction.atomic():
        # NO KEY UPDATE: a row that merely points at the member (an audit entry, a new
        # reservation) does not wait behind it; a payment deciding their seat (which takes
        # the same lock) does.
        locked = lock_member(member.pk, fields=None)
        old_state = locked.state
        changed = [f for f in PROFILE_FIELDS if f in data and getattr(locked, f) != data[f]]
        for field in changed:
            setattr(locked, field, data[field])
        if changed:
            locked.save(update_fields=changed)
        notices: list[str] = []
        if "state" in changed:
            # Ids and states only: a state is not a diagnosis, and the audit needs it.
            audit_record(
                actor=actor,
                action="profile.state_changed",
                obj=locked,
                data={"from": old_state, "to": locked.state},
            )
            notices = residence_change(
                member=locked, old_state=old_state, new_state=locked.state, actor=actor
            )
    for field in PROFILE_FIELDS:
        setattr(member, field, getattr(locked, field))
    if changed:
        logger.info("user %s profile updated (%s)", member.pk, ", ".join(changed))
    return notices
