"""Staff reports: exact numbers on a hand-built fixture, constant queries, CSV = table, dates a
report cannot hold refused, and no CSV cell a spreadsheet would run as a formula."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from attendance.models import Attendance
from billing.models import Payment, Refund
from enrollment.models import Reservation, WaitlistEntry
from grouport.models import User
from grouport.roles import STAFF, role_grant
from groups.models import Group
from reports.reports import ReportFilters, reports_all
from tests.factories import GroupFactory, licensed_therapist, member, sign_in, staff

pytestmark = pytest.mark.django_db
UTC = dt.UTC
MONDAY = dt.datetime(2027, 3, 1, 12, tzinfo=UTC)  # a Monday: weeks start here


def reservation(group, state, status, *, confirmed=None, cancelled=None, expires=None):
    who = member(state=state)
    return Reservation.objects.create(
        member=who,
        group=group,
        status=status,
        residence_state=state,
        attested_at=MONDAY,
        confirmed_at=confirmed,
        cancelled_at=cancelled,
        expires_at=expires,
        created_at=MONDAY,
    )


@pytest.fixture
def fixture():
    """Two groups, hand-counted: see the expected numbers in each test."""
    with time_machine.travel(dt.datetime(2027, 2, 1, tzinfo=UTC), tick=False):
        ny = licensed_therapist("NY", "NJ")
        therapy = GroupFactory(
            title="Therapy A", therapist=ny, capacity=4, starts_on=dt.date(2027, 3, 2), weekday=1, weeks=3
        )
        skills = GroupFactory(
            title="Skills B",
            kind=Group.Kind.SKILLS,
            capacity=10,
            starts_on=dt.date(2027, 3, 3),
            weekday=2,
            weeks=2,
        )
    week2 = MONDAY + dt.timedelta(days=7)
    t1 = reservation(therapy, "NY", "confirmed", confirmed=MONDAY)
    t2 = reservation(therapy, "NJ", "confirmed", confirmed=MONDAY)
    t3 = reservation(therapy, "NY", "confirmed", confirmed=week2)
    reservation(therapy, "NY", "cancelled", confirmed=MONDAY, cancelled=week2)
    reservation(therapy, "NY", "expired", expires=MONDAY + dt.timedelta(hours=1))
    s1 = reservation(skills, "CA", "confirmed", confirmed=MONDAY)
    reservation(skills, "TX", "confirmed", confirmed=week2)
    WaitlistEntry.objects.create(member=member(), group=therapy)
    for r in (t1, t2, t3, s1):
        Payment.objects.create(
            reservation=r, provider="offline", status="paid", amount=Decimal("100.00"), paid_at=MONDAY
        )
    paid = Payment.objects.get(reservation=t3)
    Payment.objects.filter(pk=paid.pk).update(amount_refunded=Decimal("40.00"))
    Refund.objects.create(
        payment=paid, amount=Decimal("40.00"), key="r1", reason="x", status="succeeded", created_at=week2
    )
    sessions = {(s.group_id, s.number): s for s in therapy.sessions.all()}
    marks = {1: ["present", "present", "absent"], 2: ["present", "absent", "excused"]}
    for week, statuses in marks.items():
        for r, status in zip((t1, t2, t3), statuses, strict=True):
            Attendance.objects.create(session=sessions[(therapy.pk, week)], reservation=r, status=status)
    return {"therapy": therapy, "skills": skills}


def filters(**kwargs) -> ReportFilters:
    return ReportFilters(date_from=dt.date(2027, 2, 1), date_to=dt.date(2027, 4, 30), **kwargs)


def test_numbers_match_the_hand_built_fixture(fixture):
    tables = reports_all(filters())
    groups = {row[0]: row for row in tables["groups"].rows}
    # group, therapist, kind, seats, confirmed, fill %, enrolled in range, expired, cancelled, waitlist
    assert groups["Therapy A"][2:] == ["therapy", 4, 3, 75.0, 4, 1, 1, 1]
    assert groups["Skills B"][2:] == ["skills", 10, 2, 20.0, 2, 0, 0, 0]
    assert tables["weeks"].rows == [["2027-03-01", 4, 0], ["2027-03-08", 2, 1]]
    assert dict(map(tuple, tables["states"].rows)) == {"NY": 2, "NJ": 1, "CA": 1, "TX": 1}
    assert tables["revenue"].rows == [
        [4, Decimal("400.00"), 1, Decimal("40.00"), Decimal("360.00"), Decimal("400.00"), Decimal("0.00")]
    ]
    attendance = [row[1:] for row in tables["attendance"].rows]
    assert attendance == [[1, "2027-03-02", 2, 3, 66.7], [2, "2027-03-09", 1, 3, 33.3]]
    # Therapy A's cohort: 4 ever confirmed (3 still, 1 cancelled); present 2 then 1.
    assert tables["retention"].rows == [["Therapy A", 4, 50.0, 25.0]]


def test_filters_by_kind_therapist_and_state(fixture):
    only_skills = reports_all(filters(kind="skills"))
    assert [r[0] for r in only_skills["groups"].rows] == ["Skills B"]
    assert only_skills["revenue"].rows[0][1] == Decimal("100.00")
    by_therapist = reports_all(filters(therapist_id=fixture["therapy"].therapist_id))
    assert [r[0] for r in by_therapist["groups"].rows] == ["Therapy A"]
    nj = reports_all(filters(state="NJ"))
    assert dict(map(tuple, nj["states"].rows)) == {"NJ": 1}
    assert nj["revenue"].rows[0][:2] == [1, Decimal("100.00")]


def test_the_report_runs_the_same_number_of_queries_for_more_data(client, fixture):
    from grouport.roles import STAFF, role_grant
    from tests.factories import UserFactory

    staff = UserFactory()
    role_grant(staff, STAFF)
    sign_in(client, staff)
    url = "/reports/?date_from=2027-02-01&date_to=2027-04-30"
    client.get(url)  # a first request saves the language the account reads in (once)
    with CaptureQueriesContext(connection) as small:
        assert client.get(url).status_code == 200
    for n in range(5):
        extra = GroupFactory(
            title=f"Extra {n}", capacity=5, starts_on=dt.date(2027, 3, 2), weekday=1, weeks=2
        )
        for _ in range(3):
            reservation(extra, "FL", "confirmed", confirmed=MONDAY)
    with CaptureQueriesContext(connection) as big:
        assert client.get(url).status_code == 200
    assert len(big) == len(small)


def test_each_csv_matches_its_table_and_the_page_shows_charts(client, fixture):
    from grouport.roles import STAFF, role_grant
    from tests.factories import UserFactory

    staff = UserFactory()
    role_grant(staff, STAFF)
    sign_in(client, staff)
    query = "date_from=2027-02-01&date_to=2027-04-30"
    page = client.get(f"/reports/?{query}").content.decode()
    assert page.count("<svg") == 3 and "Fill rate by group" in page
    tables = reports_all(filters())
    for key, table in tables.items():
        response = client.get(f"/reports/{key}.csv?{query}")
        assert response["Content-Disposition"] == f'attachment; filename="report-{key}.csv"'
        rows = list(csv.reader(io.StringIO(response.content.decode())))
        assert rows[0] == table.columns
        assert rows[1:] == [["" if v is None else str(v) for v in row] for row in table.rows], key
    bad = client.get("/reports/?date_from=2027-05-01&date_to=2027-04-01").content.decode()
    assert "must not be after" in bad


@pytest.mark.sqlite
def test_reports_refuse_dates_a_datetime_cannot_hold(client):
    ops = User.objects.create_user("ops2@example.test", "pw-ops-123456")
    role_grant(ops, STAFF)
    sign_in(client, ops)
    page = client.get("/reports/?date_from=0001-01-01&date_to=9999-12-31")
    assert page.status_code == 200 and "Pick dates between" in page.content.decode()
    for key in ("weeks", "retention"):
        csv = client.get(f"/reports/{key}.csv?date_from=0001-01-01&date_to=9999-12-31")
        assert csv.status_code == 400 and "Pick dates between" in csv.content.decode()
    assert client.get("/reports/weeks.csv?date_from=2020-01-01&date_to=2040-01-01").status_code == 400


@pytest.mark.sqlite
def test_the_reports_csv_cannot_run_as_a_spreadsheet_formula(client):
    GroupFactory(title='=HYPERLINK("http://evil.example","Click")', therapist=licensed_therapist("NY"))
    sign_in(client, staff())
    text = client.get("/reports/groups.csv").content.decode()
    assert "'=HYPERLINK" in text and "\n=HYPERLINK" not in text and ",=HYPERLINK" not in text


def test_a_notice_from_a_member_who_then_left_is_not_counted_as_marked(fixture):
    """Found trying the demo: two "I can't make it" notices for week 3, then both members
    cancelled before it; the week showed 1 present of 3 marked (33%) while the only member
    left had come. A seat cancelled before its session was not in the group that day."""
    therapy = fixture["therapy"]
    week3 = therapy.sessions.get(number=3)
    stayed = Reservation.objects.filter(group=therapy, status="confirmed").order_by("pk").first()
    Attendance.objects.create(session=week3, reservation=stayed, status="present")
    for _ in range(2):
        gone = reservation(
            therapy, "NY", "cancelled", confirmed=MONDAY, cancelled=week3.starts_at - dt.timedelta(hours=2)
        )
        Attendance.objects.create(session=week3, reservation=gone, status="excused")
    # Cancelled after the session began: that member was there (or not) that day, and counts.
    late = reservation(therapy, "NY", "cancelled", confirmed=MONDAY, cancelled=week3.ends_at)
    Attendance.objects.create(session=week3, reservation=late, status="absent")
    rows = {row[1]: row[1:] for row in reports_all(filters())["attendance"].rows}
    assert rows[3][2:] == [1, 2, 50.0]  # present, marked, rate
