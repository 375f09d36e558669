"""The waitlist: a freed seat goes to the first in line, one offer per seat, none lost."""

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone

from enrollment.errors import AlreadyWaitlisted, GroupFull, HoldExpired, InvalidTransition, SeatsAvailable
from enrollment.models import Reservation, WaitlistEntry
from enrollment.selectors import group_seats_taken, waitlist_position
from enrollment.services.reservations import reservation_cancel, reservation_confirm, reservation_hold
from enrollment.services.seats import groups_refresh_seats
from enrollment.services.waitlist import (
    waitlist_join,
    waitlist_leave,
    waitlist_offer_accept,
    waitlist_offer_decline,
)
from tests.factories import ALL_TRUE, GroupFactory, licensed_therapist, member

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]


@pytest.fixture
def full_group():
    """A two-seat group with both seats confirmed."""
    group = GroupFactory(capacity=2, therapist=licensed_therapist("NY"))
    seated = []
    for _ in range(2):
        who = member()
        reservation = reservation_hold(member=who, group=group, attestations=ALL_TRUE)
        seated.append(reservation_confirm(reservation=reservation, actor=who))
    group.seated = seated
    return group


def offers(group) -> list[WaitlistEntry]:
    return list(WaitlistEntry.objects.filter(group=group, status=WaitlistEntry.Status.OFFERED))


def test_joining_needs_a_full_group(full_group):
    open_group = GroupFactory(therapist=licensed_therapist("NY"))
    with pytest.raises(SeatsAvailable):
        waitlist_join(member=member(), group=open_group)
    first = waitlist_join(member=member(), group=full_group)
    second = waitlist_join(member=member(), group=full_group)
    assert (waitlist_position(entry=first), waitlist_position(entry=second)) == (1, 2)
    with pytest.raises(AlreadyWaitlisted):
        waitlist_join(member=first.member, group=full_group)


def test_freed_seat_is_offered_to_the_first_in_line_with_an_email(
    full_group, django_capture_on_commit_callbacks
):
    first = waitlist_join(member=member(), group=full_group)
    second = waitlist_join(member=member(), group=full_group)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        reservation_cancel(reservation=full_group.seated[0], actor=full_group.seated[0].member)
    first.refresh_from_db()
    assert first.status == WaitlistEntry.Status.OFFERED
    assert first.offer.status == Reservation.Status.HELD
    assert first.offer.expires_at == pytest.approx(
        timezone.now() + dt.timedelta(hours=24), abs=dt.timedelta(minutes=1)
    )
    assert waitlist_position(entry=second) == 1
    offer_mail = [m for m in mail.outbox if m.to == [first.member.email]]
    assert len(offer_mail) == 1 and "A seat is free for you" in offer_mail[0].subject
    assert "988" in offer_mail[0].body
    # The offered seat is taken: nobody can reserve it directly.
    assert group_seats_taken(group=full_group) == 2
    with pytest.raises(GroupFull):
        reservation_hold(member=member(), group=full_group, attestations=ALL_TRUE)


def test_accepting_an_offer_continues_to_payment_and_confirmation(full_group):
    first = waitlist_join(member=member(), group=full_group)
    reservation_cancel(reservation=full_group.seated[0], actor=None)
    first.refresh_from_db()
    reservation, action = waitlist_offer_accept(entry=first, member=first.member, attestations=ALL_TRUE)
    assert action.type == "pay"
    assert reservation.attested_at is not None and reservation.residence_state == "NY"
    reservation_confirm(reservation=reservation, actor=first.member)
    first.refresh_from_db()
    assert first.status == WaitlistEntry.Status.ACCEPTED
    assert Reservation.objects.get(pk=reservation.pk).status == Reservation.Status.CONFIRMED


def test_declining_passes_the_seat_to_the_next(full_group):
    first = waitlist_join(member=member(), group=full_group)
    second = waitlist_join(member=member(), group=full_group)
    reservation_cancel(reservation=full_group.seated[0], actor=None)
    first.refresh_from_db()
    waitlist_offer_decline(entry=first, actor=first.member)
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == WaitlistEntry.Status.DECLINED
    assert second.status == WaitlistEntry.Status.OFFERED
    assert [e.pk for e in offers(full_group)] == [second.pk]


def test_a_lapsed_offer_passes_to_the_next_and_cannot_be_accepted(full_group):
    first = waitlist_join(member=member(), group=full_group)
    second = waitlist_join(member=member(), group=full_group)
    reservation_cancel(reservation=full_group.seated[0], actor=None)
    later = timezone.now() + dt.timedelta(hours=24, minutes=1)
    # The seat stops counting the moment the offer lapses...
    assert group_seats_taken(group=full_group, now=later) == 1
    # ...but a direct reservation still cannot take it while others wait in line.
    with pytest.raises(GroupFull):
        reservation_hold(member=member(), group=full_group, attestations=ALL_TRUE, now=later)
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == WaitlistEntry.Status.LAPSED
    assert second.status == WaitlistEntry.Status.OFFERED
    with pytest.raises(InvalidTransition):
        waitlist_offer_accept(entry=first, member=first.member, attestations=ALL_TRUE, now=later)


def test_periodic_refresh_moves_a_lapsed_offer_along(full_group):
    first = waitlist_join(member=member(), group=full_group)
    second = waitlist_join(member=member(), group=full_group)
    reservation_cancel(reservation=full_group.seated[0], actor=None)
    groups_refresh_seats(now=timezone.now() + dt.timedelta(hours=25))
    assert WaitlistEntry.objects.get(pk=first.pk).status == WaitlistEntry.Status.LAPSED
    assert WaitlistEntry.objects.get(pk=second.pk).status == WaitlistEntry.Status.OFFERED
    groups_refresh_seats(now=timezone.now() + dt.timedelta(hours=25))  # again: nothing changes
    assert len(offers(full_group)) == 1


def test_accepting_after_the_window_is_refused(full_group):
    first = waitlist_join(member=member(), group=full_group)
    reservation_cancel(reservation=full_group.seated[0], actor=None)
    first.refresh_from_db()
    with pytest.raises(HoldExpired):
        waitlist_offer_accept(
            entry=first,
            member=first.member,
            attestations=ALL_TRUE,
            now=timezone.now() + dt.timedelta(hours=25),
        )


def test_two_seats_freed_at_once_go_to_two_different_people(full_group):
    line = [waitlist_join(member=member(), group=full_group) for _ in range(3)]
    for seat in full_group.seated:
        reservation_cancel(reservation=seat, actor=None)
    offered = offers(full_group)
    assert sorted(e.pk for e in offered) == [line[0].pk, line[1].pk]
    assert len({e.member_id for e in offered}) == 2
    assert len({e.offer_id for e in offered}) == 2
    assert group_seats_taken(group=full_group) == 2  # never more offers than seats
    assert WaitlistEntry.objects.get(pk=line[2].pk).status == WaitlistEntry.Status.WAITING


def test_leaving_the_line_and_leaving_with_an_offer(full_group):
    first = waitlist_join(member=member(), group=full_group)
    second = waitlist_join(member=member(), group=full_group)
    third = waitlist_join(member=member(), group=full_group)
    waitlist_leave(entry=second, actor=second.member)
    assert WaitlistEntry.objects.get(pk=second.pk).status == WaitlistEntry.Status.LEFT
    reservation_cancel(reservation=full_group.seated[0], actor=None)
    first.refresh_from_db()
    waitlist_leave(entry=first, actor=first.member)  # with an open offer: declines it
    assert WaitlistEntry.objects.get(pk=first.pk).status == WaitlistEntry.Status.DECLINED
    assert WaitlistEntry.objects.get(pk=third.pk).status == WaitlistEntry.Status.OFFERED


def test_a_closed_group_offers_no_seats(full_group):
    from groups.models import Group

    first = waitlist_join(member=member(), group=full_group)
    Group.objects.filter(pk=full_group.pk).update(status=Group.Status.CLOSED)
    reservation_cancel(reservation=full_group.seated[0], actor=None)
    assert WaitlistEntry.objects.get(pk=first.pk).status == WaitlistEntry.Status.WAITING
    assert groups_refresh_seats(now=timezone.now()) == 0
