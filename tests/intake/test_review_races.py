"""A clinician deciding a review while its member lets the seat go, with two real threads on
PostgreSQL: one wins whole, the other is refused, and no lock is taken out of order."""

from decimal import Decimal

import pytest

from enrollment.models import Reservation, WaitlistEntry
from enrollment.services import review as review_services
from enrollment.services.reservations import reservation_cancel, reservation_hold
from enrollment.services.review import reservation_review_approve, reservation_review_decline
from enrollment.services.waitlist import waitlist_join
from tests.factories import ALL_TRUE, GroupFactory, licensed_therapist, member
from tests.test_locks import _at_once, _pause_after_first

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _seat_in_review():
    group = GroupFactory(
        therapist=licensed_therapist("NY"), price=Decimal("100"), capacity=1, requires_review=True
    )
    seat = reservation_hold(member=member(), group=group, attestations=ALL_TRUE)
    assert seat.status == Reservation.Status.REVIEW
    return group, seat


@pytest.mark.parametrize("decide", ["approve", "decline"])
def test_a_clinician_deciding_while_the_member_lets_the_seat_go_is_one_or_the_other(monkeypatch, decide):
    group, seat = _seat_in_review()
    waiting = member()
    waitlist_join(member=waiting, group=group)
    therapist = group.therapist.user
    held = _pause_after_first(monkeypatch, review_services, "lock_reservation")
    call = reservation_review_approve if decide == "approve" else reservation_review_decline
    outcomes = _at_once(
        lambda: call(reservation=seat, actor=therapist, note="Read it."),
        lambda: reservation_cancel(reservation=Reservation.objects.get(pk=seat.pk), actor=seat.member),
        first_holds_lock=held,
    )
    seat.refresh_from_db()
    if decide == "approve":
        # Approved first, then let go by the member: cancelled, and the seat offered on.
        assert outcomes == {"clinician": "done", "member": "done"}, outcomes
        assert (seat.status, seat.end_reason) == ("cancelled", "member")
        assert seat.reviewed_by_id == therapist.pk
    else:
        assert outcomes == {"clinician": "done", "member": "refused: already ended"}, outcomes
        assert (seat.status, seat.end_reason) == ("cancelled", "review_declined")
    # Either way the one seat went to the one person waiting, once.
    assert WaitlistEntry.objects.get(member=waiting).status == WaitlistEntry.Status.OFFERED
    assert Reservation.objects.filter(group=group, status__in=Reservation.ACTIVE).count() == 1


def test_the_member_letting_go_first_leaves_nothing_to_decide(monkeypatch):
    from enrollment.services import reservations as reservation_services

    group, seat = _seat_in_review()
    held = _pause_after_first(monkeypatch, reservation_services, "lock_reservation")
    therapist = group.therapist.user
    outcomes = _at_once(
        lambda: reservation_cancel(reservation=Reservation.objects.get(pk=seat.pk), actor=seat.member),
        lambda: reservation_review_approve(reservation=seat, actor=therapist, note="Read it."),
        first_holds_lock=held,
    )
    # _at_once names the first "clinician" and the second "member": here the member went first.
    assert outcomes == {"clinician": "done", "member": "refused: already ended"}, outcomes
    seat.refresh_from_db()
    assert seat.status == "cancelled" and seat.reviewed_by_id is None
