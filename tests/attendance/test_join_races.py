"""Two taps on "check in" at the same moment: one check-in, one present mark, one audit entry.
PostgreSQL's row locks across threads (each thread its own connection)."""

import threading

import pytest
import time_machine
from django.db import connection

from attendance.models import Attendance, CheckIn
from grouport.models import AuditEntry
from tests.attendance.test_join import at, link, seat, session, signed_in
from tests.attendance.test_join import group as group  # the fixture, re-exported

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_check_ins_at_once_count_once(group):
    r = seat(group)
    s1 = session(group)
    answers = []
    barrier = threading.Barrier(2)

    def tap():
        client = signed_in(r.member)
        barrier.wait()
        with time_machine.travel(at(s1, 1), tick=False):
            answers.append(client.post(link(r, s1), {"state": "NY", "at_usual_address": "yes"}).status_code)
        connection.close()

    threads = [threading.Thread(target=tap) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [302, 302]
    assert CheckIn.objects.filter(admitted=True).count() == 1
    assert Attendance.objects.filter(session=s1, reservation=r).count() == 1
    assert AuditEntry.objects.filter(action="session.checked_in").count() == 1
