"""The last seats race on PostgreSQL with real threads, each on its own connection."""

import threading
import time
from collections import Counter
from decimal import Decimal

import pytest
from django.db import connection

from enrollment.errors import AlreadyReserved, GroupFull
from enrollment.models import Reservation
from enrollment.services import reservations as reservation_services
from enrollment.services.reservations import reservation_hold
from groups import lock_objects
from tests.factories import ALL_TRUE, GroupFactory, licensed_therapist, member

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def race(calls: list) -> Counter:
    """Run ``calls`` at the same moment, one thread (and connection) each; count outcomes."""
    barrier = threading.Barrier(len(calls))
    outcomes: Counter = Counter()
    lock = threading.Lock()

    def run(call) -> None:
        try:
            barrier.wait()
            call()
            outcome = "held"
        except GroupFull:
            outcome = "group_full"
        except AlreadyReserved:
            outcome = "already_reserved"
        except Exception as exc:
            outcome = f"error: {exc!r}"
        finally:
            connection.close()
        with lock:
            outcomes[outcome] += 1

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


@pytest.fixture
def hot_group():
    return GroupFactory(capacity=5, price=Decimal("100"), therapist=licensed_therapist("NY"))


@pytest.fixture
def slow_count(monkeypatch):
    """Widen the gap between counting seats and inserting, as a busy server would."""
    original = reservation_services.group_seats_taken

    def counted_then_paused(*, group, now):
        taken = original(group=group, now=now)
        time.sleep(0.05)
        return taken

    monkeypatch.setattr(reservation_services, "group_seats_taken", counted_then_paused)


def test_fifty_members_reserving_five_seats_at_once_get_exactly_five(hot_group, slow_count, on_postgres):
    assert on_postgres
    members = [member() for _ in range(50)]
    outcomes = race(
        [lambda m=m: reservation_hold(member=m, group=hot_group, attestations=ALL_TRUE) for m in members]
    )
    assert outcomes == Counter({"held": 5, "group_full": 45})
    assert Reservation.objects.filter(group=hot_group, status=Reservation.Status.HELD).count() == 5


def test_control_without_the_row_lock_the_race_oversells(hot_group, slow_count, monkeypatch):
    # Shows the test above can fail: with the lock switched off, members overbook.
    monkeypatch.setattr(lock_objects, "LOCK_GROUP_ROW", False)
    members = [member() for _ in range(50)]
    outcomes = race(
        [lambda m=m: reservation_hold(member=m, group=hot_group, attestations=ALL_TRUE) for m in members]
    )
    assert outcomes["held"] > 5
    assert Reservation.objects.filter(group=hot_group).count() > hot_group.capacity


@pytest.mark.parametrize("locked", [True, False])
def test_one_member_pressing_reserve_twice_at_once_gets_one_reservation(
    hot_group, slow_count, monkeypatch, locked
):
    # Without the lock, the partial unique constraint is what stops the second insert.
    monkeypatch.setattr(lock_objects, "LOCK_GROUP_ROW", locked)
    alex = member()
    outcomes = race([lambda: reservation_hold(member=alex, group=hot_group, attestations=ALL_TRUE)] * 2)
    assert outcomes == Counter({"held": 1, "already_reserved": 1})
    assert Reservation.objects.filter(member=alex).count() == 1
