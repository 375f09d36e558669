"""Staff moving a member to another group: refused, with nothing changed, when the move makes
no sense (the same group, a seat that is not confirmed, a group that takes no one, a group
where the member already has a seat).

The admin's move form offers only other open groups; these guards are what still holds when
a group closes, or a seat is cancelled, between the form being shown and it being sent.
"""

import datetime as dt

import pytest
from django.core import mail

from enrollment.errors import GroupClosed, InvalidTransition
from enrollment.models import Reservation
from enrollment.services.moves import reservation_move
from enrollment.services.reservations import reservation_cancel, reservation_confirm, reservation_hold
from grouport.exceptions import InvalidInput
from grouport.models import AuditEntry
from groups.models import Group
from groups.services import group_save
from tests.factories import ALL_TRUE, GroupFactory, licensed_therapist, member, seated, staff

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]


@pytest.fixture
def groups() -> tuple[Group, Group]:
    """Two open groups of New York therapists: the member's, and the one to move to."""
    return (
        GroupFactory(title="Tuesday group", therapist=licensed_therapist("NY")),
        GroupFactory(title="Thursday group", therapist=licensed_therapist("NY")),
    )


def as_things_are(*groups: Group) -> dict:
    """Each group's roster (member, status), and what was audited and emailed: a refused move
    leaves all of it as it was."""
    return {
        "rosters": {
            group.pk: sorted(Reservation.objects.filter(group=group).values_list("member_id", "status"))
            for group in groups
        },
        "audit": list(AuditEntry.objects.values_list("pk", flat=True)),
        "mail": len(mail.outbox),
    }


def test_moving_a_member_to_the_group_they_are_in_is_refused(groups):
    source, target = groups
    seat = seated(source, at=None)
    before = as_things_are(source, target)
    with pytest.raises(InvalidInput) as refused:
        reservation_move(reservation=seat, to_group=source, actor=staff())
    assert refused.value.code == "same_group"
    assert as_things_are(source, target) == before


@pytest.mark.parametrize("how", ["held", "cancelled"])
def test_only_a_confirmed_seat_can_be_moved(groups, how):
    source, target = groups
    who = member(state="NY")
    seat = reservation_hold(member=who, group=source, attestations=ALL_TRUE)
    if how == "cancelled":
        reservation_cancel(reservation=seat, actor=who)
    ops = staff()
    before = as_things_are(source, target)
    with pytest.raises(InvalidTransition):
        reservation_move(reservation=seat, to_group=target, actor=ops)
    assert as_things_are(source, target) == before
    assert Reservation.objects.get(pk=seat.pk).status == how


@pytest.mark.parametrize(
    ("why", "detail"),
    [("closed", "This group is not taking reservations."), ("finished", "This group has finished.")],
)
def test_a_member_cannot_be_moved_into_a_group_that_takes_no_one(groups, why, detail):
    source, target = groups
    seat = seated(source, at=None)
    now = None
    if why == "closed":
        target.status = Group.Status.CLOSED
        group_save(group=target)
    else:
        now = target.last_session_at + dt.timedelta(hours=1)
    ops = staff()
    before = as_things_are(source, target)
    with pytest.raises(GroupClosed) as refused:
        reservation_move(reservation=seat, to_group=target, actor=ops, now=now)
    assert (refused.value.code, str(refused.value.detail)) == ("group_closed", detail)
    assert as_things_are(source, target) == before
    assert Reservation.objects.get(pk=seat.pk).status == Reservation.Status.CONFIRMED


@pytest.mark.parametrize("there", ["held", "confirmed"])
def test_a_member_cannot_be_moved_into_a_group_where_they_already_have_a_seat(groups, there):
    # Two seats of one member in one group would count them twice and bill them twice.
    source, target = groups
    seat = seated(source, at=None)
    waiting = reservation_hold(member=seat.member, group=target, attestations=ALL_TRUE)
    if there == "confirmed":
        reservation_confirm(reservation=waiting, actor=seat.member)
    ops = staff()
    before = as_things_are(source, target)
    with pytest.raises(InvalidInput) as refused:
        reservation_move(reservation=seat, to_group=target, actor=ops)
    assert refused.value.code == "already_reserved"
    assert as_things_are(source, target) == before
    assert Reservation.objects.get(pk=seat.pk).status == Reservation.Status.CONFIRMED
