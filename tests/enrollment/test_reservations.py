"""Holding, confirming and cancelling seats: every rule checked on the server."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from enrollment.errors import (
    AlreadyReserved,
    AttestationRequired,
    EmailUnverified,
    GroupClosed,
    GroupFull,
    HoldExpired,
    InvalidTransition,
    NotEligible,
    ProfileIncomplete,
)
from enrollment.models import Reservation
from enrollment.selectors import group_seats_taken
from enrollment.services.reservations import (
    Attestations,
    reservation_cancel,
    reservation_confirm,
    reservation_hold,
    reservation_start,
)
from grouport.models import AuditEntry
from groups.models import Group
from tests.factories import ALL_TRUE, GroupFactory, licensed_therapist, member

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]


@pytest.fixture
def group():
    return GroupFactory(capacity=2, therapist=licensed_therapist("NY", "NJ"), price=Decimal("200"))


def test_hold_takes_a_seat_for_thirty_minutes_and_records_the_attestation(group):
    alex = member(state="NJ")
    now = timezone.now()
    reservation = reservation_hold(member=alex, group=group, attestations=ALL_TRUE, now=now)
    assert reservation.status == Reservation.Status.HELD
    assert reservation.expires_at == now + dt.timedelta(minutes=30)
    assert reservation.residence_state == "NJ" and reservation.attested_at == now
    assert group_seats_taken(group=group) == 1
    entry = AuditEntry.objects.get(action="reservation.held")
    assert (entry.actor, entry.object_id) == (alex, str(reservation.pk))


@pytest.mark.parametrize(
    ("attestations", "missing"),
    [
        (Attestations(residence=False, location=True, agreement=True), ["attest_residence"]),
        (
            Attestations(residence=True, location=False, agreement=False),
            ["attest_location", "accept_agreement"],
        ),
    ],
)
def test_every_attestation_is_required(group, attestations, missing):
    with pytest.raises(AttestationRequired) as err:
        reservation_hold(member=member(), group=group, attestations=attestations)
    assert err.value.extra["missing"] == missing
    assert not Reservation.objects.exists()


def test_unverified_email_cannot_reserve(group):
    with pytest.raises(EmailUnverified):
        reservation_hold(member=member(verified=False), group=group, attestations=ALL_TRUE)


def test_member_without_a_state_is_asked_for_one(group):
    with pytest.raises(ProfileIncomplete):
        reservation_hold(member=member(state=""), group=group, attestations=ALL_TRUE)


@pytest.mark.parametrize("state", ["FL", "CA", "XX"])
def test_ineligible_member_is_refused_with_reasons_and_skills_alternatives(group, state):
    skills = GroupFactory(kind=Group.Kind.SKILLS, title="Skills for all")
    with pytest.raises(NotEligible) as err:
        reservation_hold(member=member(state=state), group=group, attestations=ALL_TRUE)
    assert err.value.extra["reasons"]
    assert [a["slug"] for a in err.value.extra["alternatives"]] == [skills.slug]
    assert not Reservation.objects.filter(group=group).exists()


def test_skills_group_takes_anyone(attest):
    skills = GroupFactory(kind=Group.Kind.SKILLS)
    assert reservation_hold(member=member(state="CA"), group=skills, attestations=attest).pk


@pytest.mark.parametrize("status", [Group.Status.CLOSED, Group.Status.DRAFT])
def test_closed_or_draft_group_takes_no_reservations(group, status):
    Group.objects.filter(pk=group.pk).update(status=status)
    with pytest.raises(GroupClosed):
        reservation_hold(member=member(), group=group, attestations=ALL_TRUE)


def test_no_reservations_once_the_last_session_has_started():
    with time_machine.travel(dt.datetime(2027, 1, 1, tzinfo=dt.UTC), tick=False):
        group = GroupFactory(
            starts_on=dt.date(2027, 1, 5), weekday=1, weeks=2, therapist=licensed_therapist("NY")
        )
        alex = member()
    last = group.sessions.get(number=2).starts_at
    reservation_hold(member=alex, group=group, attestations=ALL_TRUE, now=last - dt.timedelta(minutes=1))
    with pytest.raises(GroupClosed, match="finished"):
        reservation_hold(member=member(), group=group, attestations=ALL_TRUE, now=last)


def test_one_active_reservation_per_member_and_group(group):
    alex = member()
    reservation_hold(member=alex, group=group, attestations=ALL_TRUE)
    with pytest.raises(AlreadyReserved):
        reservation_hold(member=alex, group=group, attestations=ALL_TRUE)
    assert Reservation.objects.filter(member=alex).count() == 1


def test_full_group_says_so_with_the_waitlist_link(group):
    reservation_hold(member=member(), group=group, attestations=ALL_TRUE)
    reservation_hold(member=member(), group=group, attestations=ALL_TRUE)
    with pytest.raises(GroupFull) as err:
        reservation_hold(member=member(), group=group, attestations=ALL_TRUE)
    assert err.value.extra["waitlist_url"] == f"/api/groups/{group.pk}/waitlist/"


def test_lapsed_hold_frees_its_seat_without_any_job(group):
    now = timezone.now()
    first = reservation_hold(member=member(), group=group, attestations=ALL_TRUE, now=now)
    reservation_hold(member=member(), group=group, attestations=ALL_TRUE, now=now + dt.timedelta(minutes=10))
    later = now + dt.timedelta(minutes=30, seconds=1)
    assert group_seats_taken(group=group, now=later) == 1  # nothing has marked it expired yet
    assert Reservation.objects.get(pk=first.pk).status == Reservation.Status.HELD
    third = reservation_hold(member=member(), group=group, attestations=ALL_TRUE, now=later)
    assert third.status == Reservation.Status.HELD
    assert Reservation.objects.get(pk=first.pk).status == Reservation.Status.EXPIRED


def test_member_may_reserve_again_after_their_own_hold_lapsed(group):
    alex, now = member(), timezone.now()
    reservation_hold(member=alex, group=group, attestations=ALL_TRUE, now=now)
    again = reservation_hold(member=alex, group=group, attestations=ALL_TRUE, now=now + dt.timedelta(hours=1))
    assert again.status == Reservation.Status.HELD
    assert list(Reservation.objects.filter(member=alex).values_list("status", flat=True).order_by("pk")) == [
        "expired",
        "held",
    ]


def test_free_group_is_confirmed_at_once_with_an_email(django_capture_on_commit_callbacks):
    free = GroupFactory(price=Decimal("0"), therapist=licensed_therapist("NY"))
    with django_capture_on_commit_callbacks(execute=True):
        reservation, action = reservation_start(member=member(), group=free, attestations=ALL_TRUE)
    assert reservation.status == Reservation.Status.CONFIRMED
    assert action.type == "confirmed"
    assert len(mail.outbox) == 1
    assert "confirmed" in mail.outbox[0].subject
    assert "988" in mail.outbox[0].body and "911" in mail.outbox[0].body
    assert "988" in mail.outbox[0].alternatives[0][0]


def test_paid_group_waits_for_payment(group):
    reservation, action = reservation_start(member=member(), group=group, attestations=ALL_TRUE)
    assert reservation.status == Reservation.Status.HELD
    assert (action.type, action.url) == ("pay", f"/reservations/{reservation.pk}/pay/")
    assert mail.outbox == []


def test_confirming_a_lapsed_hold_is_refused(group):
    now = timezone.now()
    reservation = reservation_hold(member=member(), group=group, attestations=ALL_TRUE, now=now)
    with pytest.raises(HoldExpired):
        reservation_confirm(reservation=reservation, actor=None, now=now + dt.timedelta(minutes=31))


def test_confirming_twice_confirms_once(group, django_capture_on_commit_callbacks):
    reservation = reservation_hold(member=member(), group=group, attestations=ALL_TRUE)
    with django_capture_on_commit_callbacks(execute=True):
        reservation_confirm(reservation=reservation, actor=reservation.member)
        reservation_confirm(reservation=reservation, actor=reservation.member)
    assert AuditEntry.objects.filter(action="reservation.confirmed").count() == 1
    assert len(mail.outbox) == 1


def test_cancelling_a_confirmed_seat_frees_it_at_once(group):
    a, b = member(), member()
    ra = reservation_hold(member=a, group=group, attestations=ALL_TRUE)
    reservation_confirm(reservation=ra, actor=a)
    reservation_hold(member=b, group=group, attestations=ALL_TRUE)
    with pytest.raises(GroupFull):
        reservation_hold(member=member(), group=group, attestations=ALL_TRUE)
    reservation_cancel(reservation=ra, actor=a)
    assert reservation_hold(member=member(), group=group, attestations=ALL_TRUE).status == "held"
    entry = AuditEntry.objects.get(action="reservation.cancelled")
    assert entry.actor == a and entry.data["from"] == "confirmed"


def test_moves_outside_the_map_are_refused(group):
    reservation = reservation_hold(member=member(), group=group, attestations=ALL_TRUE)
    reservation_cancel(reservation=reservation, actor=None)
    with pytest.raises(InvalidTransition):
        reservation_cancel(reservation=reservation, actor=None)
    with pytest.raises(InvalidTransition):
        reservation_confirm(reservation=reservation, actor=None)


def test_catalog_counts_held_and_confirmed_seats(client, group):
    reservation_hold(member=member(), group=group, attestations=ALL_TRUE)
    body = client.get(f"/api/groups/{group.pk}/").json()
    assert body["seats_left"] == 1
    reservation_hold(member=member(), group=group, attestations=ALL_TRUE)
    assert client.get(f"/api/groups/{group.pk}/").json()["seats_left"] == 0
    assert "Full" in client.get("/").content.decode()


@pytest.mark.django_db
@pytest.mark.sqlite
def test_a_seat_is_taken_by_the_same_rule_in_a_query_and_on_a_row():
    """``taking_seats`` (SQL) and ``takes_a_seat`` (Python) are one rule written twice, side by
    side: for every status and a hold on each side of its expiry, they agree."""
    group = GroupFactory(capacity=20, therapist=licensed_therapist("NY"))
    now = timezone.now()
    second = dt.timedelta(seconds=1)
    rows = [
        Reservation.objects.create(
            member=member(), group=group, status=status, expires_at=expires, attested_at=now
        )
        for status in Reservation.Status.values
        for expires in (now - second, now, now + second)
    ]
    in_sql = set(Reservation.objects.filter(group=group).taking_seats(now).values_list("pk", flat=True))
    in_python = {r.pk for r in rows if r.takes_a_seat(now)}
    assert in_sql == in_python
    # Three confirmed, one hold for payment and one held for review running past now.
    assert len(in_sql) == 5
    assert (
        Reservation.objects.filter(group=group).seats_taken(now)
        == group_seats_taken(group=group, now=now)
        == 5
    )
    lapsed = set(Reservation.objects.filter(group=group).lapsed_holds(now).values_list("pk", flat=True))
    holding = set(Reservation.objects.filter(group=group).holding(now).values_list("pk", flat=True))
    reviewing = set(Reservation.objects.filter(group=group).in_review(now).values_list("pk", flat=True))
    held = {r.pk for r in rows if r.status in ("held", "review")}
    assert lapsed | holding | reviewing == held and not lapsed & (holding | reviewing)
    assert len(holding) == len(reviewing) == 1
