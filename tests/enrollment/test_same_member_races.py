"""One member pressing "Reserve" ten times at once gets one seat and nine clear answers.

Runs on PostgreSQL and again on the embedded SQLite default (``make test``'s second pass),
through the API, with real threads, each on its own database connection. The losers are
stopped by the one-active-reservation constraint, whose error message differs between the
two databases: the answer must be the same 409 on both, never a 500.
"""

import threading
from collections import Counter
from decimal import Decimal

import pytest
from django.db import connection
from rest_framework.test import APIClient

from enrollment.models import Reservation, WaitlistEntry
from tests.factories import ATTEST_JSON, GroupFactory, licensed_therapist, member

pytestmark = [pytest.mark.sqlite, pytest.mark.django_db(transaction=True)]


def at_once(count: int, request) -> Counter:
    barrier = threading.Barrier(count)
    answers: Counter = Counter()
    lock = threading.Lock()

    def run() -> None:
        try:
            barrier.wait()
            response = request()
            body = response.json() if response.status_code != 500 else {}
            answer = (response.status_code, body.get("code") or body.get("status"))
        except Exception as exc:  # a crash in the view, re-raised by the test client
            answer = (500, type(exc).__name__)
        finally:
            connection.close()
        with lock:
            answers[answer] += 1

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return answers


def test_ten_parallel_reserve_requests_by_one_member_give_one_seat_and_nine_409s():
    group = GroupFactory(capacity=20, price=Decimal("100"), therapist=licensed_therapist("NY"))
    alex = member()

    def reserve():
        api = APIClient()
        api.force_authenticate(alex)
        return api.post(f"/api/groups/{group.pk}/reservations/", ATTEST_JSON, format="json")

    answers = at_once(10, reserve)
    assert answers == Counter({(201, "held"): 1, (409, "already_reserved"): 9}), answers
    assert Reservation.objects.filter(member=alex).count() == 1


def test_ten_parallel_waitlist_joins_by_one_member_give_one_place_and_nine_409s():
    group = GroupFactory(capacity=1, price=Decimal("100"), therapist=licensed_therapist("NY"))
    seated = member()
    APIClient().force_authenticate(seated)
    api = APIClient()
    api.force_authenticate(seated)
    assert api.post(f"/api/groups/{group.pk}/reservations/", ATTEST_JSON, format="json").status_code == 201
    alex = member()

    def join():
        client = APIClient()
        client.force_authenticate(alex)
        return client.post(f"/api/groups/{group.pk}/waitlist/", format="json")

    answers = at_once(10, join)
    assert answers == Counter({(201, "waiting"): 1, (409, "already_waitlisted"): 9}), answers
    assert WaitlistEntry.objects.filter(member=alex).count() == 1
