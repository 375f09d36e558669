"""Who may take a seat, asked at every moment a seat is given.

The rule is ``groups.eligibility``'s (service states, the therapist's licenses through the
last session). ``seat_decision`` applies it to a member's state as it is now, and it is the
one question asked when a seat is held, when a payment for it arrives (on time or late),
when a waitlist offer is made or accepted, and when staff move a member.

A member whose state changes under a seat is flagged here (``residence_alert_open``) for a
clinician to review; what a change of state means for all of a member's seats and
waitlists is worked out in ``residence.py``.
"""

import datetime as dt
import logging

from allauth.account.models import EmailAddress
from django.db import IntegrityError, transaction
from django.utils import timezone

from enrollment.errors import EmailUnverified, NotEligible, ProfileIncomplete
from enrollment.lock_objects import lock_residence_alert
from enrollment.models import Reservation, ResidenceAlert
from grouport.audit import audit_record
from grouport.models import User
from grouport.outbox import outbox_add
from grouport.transitions import transition
from groups.eligibility import REASON_TEXT, Decision, Reason
from groups.models import Group
from groups.selectors import group_decision_for, skills_alternatives
from intake.services import intake_check_ready

logger = logging.getLogger(__name__)


def seat_decision(*, state: str, group: Group) -> Decision:
    """Decide whether someone living in ``state`` may have a seat in ``group`` now."""
    return group_decision_for(group=group, state=state)


def not_eligible_error(decision: Decision) -> NotEligible:
    """The error a member sees when ``decision`` says no, with the skills groups open to all."""
    alternatives = [{"id": g.pk, "slug": g.slug, "title": g.title} for g in skills_alternatives()]
    return NotEligible(
        " ".join(str(REASON_TEXT[Reason(r)]) for r in decision.reason_codes),
        reasons=decision.reason_codes,
        alternatives=alternatives,
    )


def member_email_verified(member: User) -> bool:
    return EmailAddress.objects.filter(user=member, email__iexact=member.email, verified=True).exists()


def member_check_may_join(*, member: User, group: Group, intake: bool = True) -> None:
    """Raise unless ``member`` may take a seat in ``group``: a verified email, a state on
    their profile, the licensing rule, and (``intake``, whenever a seat is given) the age,
    intake and consent the group needs (``intake.services.intake_check_ready``)."""
    if not member_email_verified(member):
        raise EmailUnverified()
    if not member.state:
        raise ProfileIncomplete()
    decision = seat_decision(state=member.state, group=group)
    if not decision.eligible:
        raise not_eligible_error(decision)
    if intake:
        intake_check_ready(member=member, group=group)


def residence_alert_open(
    *, reservation: Reservation, old_state: str, new_state: str, actor: User | None, now: dt.datetime
) -> ResidenceAlert | None:
    """Flag ``reservation`` for its therapist and staff, and alert them.

    Return the new alert, or ``None`` when one was already open: it then says where the
    member lives now, and the care team is alerted again (the situation changed).
    """
    existing = ResidenceAlert.objects.filter(
        reservation=reservation, status=ResidenceAlert.Status.OPEN
    ).first()
    if existing is not None:
        if existing.new_state != new_state:
            residence_alert_update(alert=existing, new_state=new_state, actor=actor, now=now)
        return None
    try:
        with transaction.atomic():
            alert = ResidenceAlert.objects.create(
                reservation=reservation,
                group_id=reservation.group_id,
                old_state=old_state,
                new_state=new_state,
                created_at=now,
            )
    except IntegrityError:
        return None  # opened a moment ago by a racing change
    audit_record(
        actor=actor,
        action="residence_alert.opened",
        obj=alert,
        data={
            "reservation": reservation.pk,
            "group": reservation.group_id,
            "from": old_state,
            "to": new_state,
        },
    )
    outbox_add(kind="enrollment.staff_alert", payload={"alert": alert.pk})
    return alert


def residence_alert_update(
    *, alert: ResidenceAlert, new_state: str, actor: User | None, now: dt.datetime
) -> None:
    """The member changed state again while their flag waits: record it and alert again."""
    was = alert.new_state
    ResidenceAlert.objects.filter(pk=alert.pk).update(new_state=new_state, updated_at=now)
    audit_record(
        actor=actor,
        action="residence_alert.updated",
        obj=alert,
        data={"reservation": alert.reservation_id, "group": alert.group_id, "from": was, "to": new_state},
    )
    outbox_add(kind="enrollment.staff_alert", payload={"alert": alert.pk})


def residence_alert_withdraw(*, alert: ResidenceAlert, actor: User | None, now: dt.datetime) -> None:
    """The member changed back to the state they lived in before the flag: close it."""
    alert = lock_residence_alert(alert.pk)
    if alert.status != ResidenceAlert.Status.OPEN:
        return
    alert.reviewed_at = now
    alert.review_note = f"Closed by itself: the member changed back to {alert.old_state} before a review."
    transition(
        alert,
        to=ResidenceAlert.Status.REVIEWED,
        actor=actor,
        fields=("reviewed_at", "review_note"),
        data={"reservation": alert.reservation_id, "group": alert.group_id, "withdrawn": True},
    )


def residence_alert_review(*, alert: ResidenceAlert, actor: User, note: str) -> ResidenceAlert:
    """A clinician looked at the flag and wrote down what was decided."""
    with transaction.atomic():
        alert = lock_residence_alert(alert.pk)
        alert.reviewed_by, alert.reviewed_at, alert.review_note = actor, timezone.now(), note
        transition(
            alert,
            to=ResidenceAlert.Status.REVIEWED,
            actor=actor,
            fields=("reviewed_by", "reviewed_at", "review_note"),
            data={"reservation": alert.reservation_id, "group": alert.group_id},
        )
    return alert
