"""What a change of state of residence means for a member's therapy seats and waitlists.

Handled as a clinic would: the member is told plainly what it means, the group's therapist
and staff are alerted (an audited flag on the roster), and a person decides. A seat is
neither silently kept nor silently dropped; a waitlist offer the member can no longer take
goes back to the line (they keep their place).
"""

import datetime as dt
import logging

from django.utils import timezone
from django.utils.translation import gettext as _

from enrollment.lock_objects import lock_reservation
from enrollment.models import Reservation, ResidenceAlert, WaitlistEntry
from enrollment.services.eligibility import residence_alert_open, residence_alert_withdraw, seat_decision
from enrollment.services.waitlist import waitlist_offer_withdraw
from grouport.models import User
from grouport.outbox import outbox_add
from grouport.states import STATE_NAMES
from groups.lock_objects import lock_groups
from groups.models import Group

logger = logging.getLogger(__name__)


def residence_change_handle(
    *, member: User, old_state: str, new_state: str, actor: User | None, now: dt.datetime | None = None
) -> list[str]:
    """Work out what a change of state means for ``member``'s therapy seats and waitlists.

    Runs inside the profile change's transaction, after the member's row is locked. Returns
    the sentences the member must read at once (the same go to them by email).
    """
    now = now or timezone.now()
    place = STATE_NAMES.get(new_state, new_state)
    notices: list[str] = []
    entries = list(
        WaitlistEntry.objects.filter(
            member=member, status__in=WaitlistEntry.ACTIVE, group__kind=Group.Kind.THERAPY
        )
        .select_related("group", "group__therapist")
        .order_by("pk")
    )
    leaving = [e for e in entries if not seat_decision(state=new_state, group=e.group).eligible]
    # Offers that go back to the line touch their groups' seats: every such group, then every
    # such offer, locked first and in order (grouport/locks.py), before the seats' flags.
    offered = [e for e in leaving if e.status == WaitlistEntry.Status.OFFERED]
    lock_groups([e.group_id for e in offered])
    for offer_id in sorted(e.offer_id for e in offered if e.offer_id):
        lock_reservation(offer_id)
    reservations = (
        Reservation.objects.filter(
            member=member, status__in=Reservation.ACTIVE, group__kind=Group.Kind.THERAPY
        )
        .select_related("group", "group__therapist")
        .order_by("pk")
    )
    alerted: list[int] = []
    flagged = {
        alert.reservation_id: alert
        for alert in ResidenceAlert.objects.filter(
            reservation__in=reservations, status=ResidenceAlert.Status.OPEN
        )
    }
    for reservation in reservations:
        if not reservation.takes_a_seat(now):
            continue
        if seat_decision(state=new_state, group=reservation.group).eligible:
            alert = flagged.get(reservation.pk)
            if alert is not None and alert.old_state == new_state:
                # Back to the state they had before the flag: it was a slip or a short move,
                # and nothing is left to review. The flag closes, audited, and says so.
                residence_alert_withdraw(alert=alert, actor=actor, now=now)
            elif alert is not None:
                # Back where the therapist may treat them: the open flag says so, and the care
                # team hears it (a person still closes the flag).
                residence_alert_open(
                    reservation=reservation, old_state=old_state, new_state=new_state, actor=actor, now=now
                )
            continue
        residence_alert_open(
            reservation=reservation, old_state=old_state, new_state=new_state, actor=actor, now=now
        )
        alerted.append(reservation.pk)
        if reservation.status == Reservation.Status.CONFIRMED:
            notices.append(
                _(
                    "You told us you now live in %(place)s. Our therapists may only treat people in a "
                    "state where they hold a license, so “%(title)s” may not be able to continue for you. "
                    "Your seat is kept for now, and your therapist will contact you about what happens next."
                )
                % {"place": place, "title": reservation.group.title}
            )
        else:
            notices.append(
                _(
                    "Your held seat in “%(title)s” cannot be confirmed while you live in %(place)s: its "
                    "therapist is not licensed there. If a payment for it goes through, it is refunded "
                    "in full."
                )
                % {"place": place, "title": reservation.group.title}
            )
    waiting: list[int] = []
    for entry in leaving:
        if entry.status == WaitlistEntry.Status.OFFERED:
            waitlist_offer_withdraw(entry=entry, actor=actor, now=now)
        waiting.append(entry.pk)
        notices.append(
            _(
                "You keep your place on the waitlist for “%(title)s”, but a seat can only be offered to "
                "you while you live in a state where its therapist is licensed, not %(place)s."
            )
            % {"place": place, "title": entry.group.title}
        )
    if notices:
        notices.append(
            _(
                "Our DBT skills groups are open to you wherever you live. If you are in crisis, call or "
                "text 988, or call 911 in an emergency."
            )
        )
        outbox_add(
            kind="enrollment.residence_notice",
            payload={"member": member.pk, "state": new_state, "reservations": alerted, "entries": waiting},
        )
        logger.info(
            "user %s changed state: %d seats flagged, %d waitlist entries paused",
            member.pk,
            len(alerted),
            len(waiting),
        )
    return notices
