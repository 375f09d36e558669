"""Every therapy check-in is the session's emergency plan: where the member is, shown with
their phones to the therapist during the session only, each look audited."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.test import Client

from attendance.join import join_path
from attendance.live import session_live
from grouport.models import AuditEntry
from grouport.roles import THERAPIST, role_grant
from tests.factories import GroupFactory, licensed_therapist, member, seated, sign_in

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]


@pytest.fixture
def setup():
    with time_machine.travel(dt.datetime(2026, 1, 1, tzinfo=dt.UTC), tick=False):
        group = GroupFactory(
            therapist=licensed_therapist("NY", "NJ"),
            starts_on=dt.date(2026, 3, 3),
            weekday=1,
            price=Decimal("0"),
        )
    role_grant(group.therapist.user, THERAPIST)
    ana = member(first_name="Ana", last_name="Away")
    seat = seated(group, ana, at=dt.datetime(2026, 1, 2, tzinfo=dt.UTC))
    return group, ana, seat, group.sessions.get(number=1)


def test_a_check_in_away_from_home_records_where_and_the_live_view_shows_it_during_the_session_only(setup):
    group, ana, seat, session = setup
    link = join_path(reservation_id=seat.pk, session_id=session.pk)
    client = Client()
    client.force_login(ana)
    therapist = Client()
    sign_in(therapist, group.therapist.user)
    with time_machine.travel(session.starts_at - dt.timedelta(minutes=3), tick=False):
        page = client.get(link).content.decode()
        assert "Are you at 1 Main St, Springfield, NY 10001?" in page
        vague = client.post(link, {"state": "NJ", "at_usual_address": "no", "location": ""})
        assert vague.status_code == 400 and "where you are for this session" in vague.content.decode()
        assert (
            client.post(
                link, {"state": "NJ", "at_usual_address": "no", "location": "12 Shore Rd, Cape May, NJ"}
            ).status_code
            == 302
        )
        check_in = session.check_ins.get()
        assert (check_in.at_usual_address, check_in.location) == (False, "12 Shore Rd, Cape May, NJ")
    with time_machine.travel(session.starts_at + dt.timedelta(minutes=10), tick=False):
        [row] = session_live(session=session)
        assert row.where == "12 Shore Rd, Cape May, NJ" and row.phone == "(212) 555-0100"
        assert "Pat Doe (Sibling)" in row.emergency
        live = therapist.get(f"/admin/groups/groupsession/{session.pk}/live/").content.decode()
        assert "12 Shore Rd, Cape May, NJ" in live and "(212) 555-0111" in live
        assert AuditEntry.objects.filter(action="session.live_viewed", data__emergency_plan=True).count() == 1
    with time_machine.travel(session.ends_at + dt.timedelta(minutes=1), tick=False):
        [row] = session_live(session=session)
        assert (row.where, row.phone, row.emergency) == ("", "", "")
        live = therapist.get(f"/admin/groups/groupsession/{session.pk}/live/").content.decode()
        assert "Cape May" not in live and "555-0111" not in live
        assert AuditEntry.objects.filter(action="session.live_viewed", data__emergency_plan=False).exists()


def test_at_the_usual_address_keeps_no_location_and_the_plan_shows_that_address(setup):
    _group, ana, seat, session = setup
    client = Client()
    client.force_login(ana)
    with time_machine.travel(session.starts_at, tick=False):
        client.post(
            join_path(reservation_id=seat.pk, session_id=session.pk),
            {"state": "NY", "at_usual_address": "yes"},
        )
        assert session.check_ins.get().location == ""
        [row] = session_live(session=session)
        assert row.where == "1 Main St, Springfield, NY 10001"


def test_a_member_with_no_address_kept_says_where_they_are(setup):
    _group, ana, seat, session = setup
    ana.intake.delete()
    client = Client()
    client.force_login(ana)
    link = join_path(reservation_id=seat.pk, session_id=session.pk)
    with time_machine.travel(session.starts_at, tick=False):
        assert "Are you at" not in client.get(link).content.decode()
        assert client.post(link, {"state": "NY"}).status_code == 400
        assert client.post(link, {"state": "NY", "location": "Home, 4 Oak Ave, Troy NY"}).status_code == 302


def test_at_the_usual_address_without_one_kept_keeps_the_place_they_named(setup):
    _group, ana, seat, session = setup
    ana.intake.delete()
    with time_machine.travel(session.starts_at, tick=False):
        from attendance.services.checkin import session_check_in

        session_check_in(
            reservation=seat,
            session=session,
            member=ana,
            state="NY",
            at_usual_address=True,
            location="4 Oak Ave, Troy",
        )
    check_in = session.check_ins.get()
    assert (check_in.at_usual_address, check_in.location) == (False, "4 Oak Ave, Troy")
