"""Our lobby in front of the video room: members who check in wait until the group's therapist
lets them in from the live view, which shows who waits, who was let in, who is in the room now
(Daily's presence) and where each checked in from. No way in for a moved seat; nobody but the
group's therapist and staff lets anyone in; two clinicians at once let each member in once."""

import datetime as dt
import re
import threading

import pytest
import time_machine
from django.db import connection
from django.test import Client

from attendance.join import join_path
from attendance.models import CheckIn
from attendance.services.room import room_let_in
from attendance.video import room_name
from enrollment.models import Reservation
from enrollment.services.moves import reservation_move
from grouport.models import AuditEntry, User
from grouport.roles import STAFF, THERAPIST, role_grant
from tests.attendance.test_video_rooms import AT_HOME, jitsi, room, seat, signed_in, way_in  # noqa: F401
from tests.attendance.test_video_rooms import daily as daily  # the fixtures, re-exported
from tests.attendance.test_video_rooms import group as group
from tests.factories import GroupFactory, UserFactory, licensed_therapist, sign_in


def knock(r, s) -> None:
    """The member checks in and opens the room's page: they wait in our lobby."""
    client = signed_in(r.member)
    client.post(join_path(reservation_id=r.pk, session_id=s.pk), {"state": "NY", **AT_HOME})
    assert "Waiting for your therapist" in room(client, r, s).content.decode()


def therapist_client(group) -> Client:
    client = Client()
    role_grant(group.therapist.user, THERAPIST)
    sign_in(client, group.therapist.user)
    return client


def live(client, s) -> str:
    return client.get(f"/admin/groups/groupsession/{s.pk}/live/").content.decode()


@pytest.mark.sqlite
@pytest.mark.django_db
def test_the_live_view_shows_who_waits_and_the_therapist_lets_them_in(group):
    ana = seat(group, first_name="Ana", last_name="Lopez")
    ben = seat(group, first_name="Ben", last_name="Okafor")
    s1 = group.sessions.get(number=1)
    client = therapist_client(group)
    with time_machine.travel(s1.starts_at - dt.timedelta(minutes=5), tick=False):
        knock(ana, s1)
        knock(ben, s1)
        page = live(client, s1)
        assert page.count("Waiting to be let in") == 2 and "Let everyone waiting in (2)" in page
        assert "Let Ana Lopez in" in page and "New York" in page  # where she checked in from
        answer = client.post(f"/admin/groups/groupsession/{s1.pk}/room/let-in/", {"reservation": ana.pk})
        assert answer.status_code == 302
        page = live(client, s1)
        assert "Let Ana Lopez in" not in page and "Let Ben Okafor in" in page and "Let in · at" in page
        assert "Waiting for your therapist" not in room(signed_in(ana.member), ana, s1).content.decode()
        assert way_in(room(signed_in(ana.member), ana, s1).content.decode())  # her way in, now
        assert "Waiting for your therapist" in room(signed_in(ben.member), ben, s1).content.decode()
        client.post(f"/admin/groups/groupsession/{s1.pk}/room/let-in/")  # everyone waiting
        assert way_in(room(signed_in(ben.member), ben, s1).content.decode())
        assert "Waiting to be let in" not in live(client, s1)
    entries = AuditEntry.objects.filter(action="session.let_in").order_by("pk")
    assert [e.data["reservations"] for e in entries] == [[ana.pk], [ben.pk]]
    assert {e.actor_id for e in entries} == {group.therapist.user_id}
    assert CheckIn.objects.get(reservation=ana).let_in_by_id == group.therapist.user_id


@pytest.mark.sqlite
@pytest.mark.django_db
def test_nobody_else_lets_anyone_in_and_not_outside_the_window(group):
    ana = seat(group, first_name="Ana", last_name="Lopez")
    s1 = group.sessions.get(number=1)
    outsider = licensed_therapist("NY").user
    role_grant(outsider, THERAPIST)
    stranger = Client()
    sign_in(stranger, outsider)
    member = signed_in(seat(group).member)
    with time_machine.travel(s1.starts_at, tick=False):
        knock(ana, s1)
        for who in (stranger, member, Client()):
            who.post(f"/admin/groups/groupsession/{s1.pk}/room/let-in/", {"reservation": ana.pk})
        assert CheckIn.objects.get(reservation=ana).let_in_at is None
        assert "Waiting for your therapist" in room(signed_in(ana.member), ana, s1).content.decode()
        client = therapist_client(group)
        bad = client.post(
            f"/admin/groups/groupsession/{s1.pk}/room/let-in/", {"reservation": "x"}, follow=True
        )
        assert "Choose someone who is waiting" in bad.content.decode()
        assert (
            client.get(f"/admin/groups/groupsession/{s1.pk}/room/let-in/").status_code == 302
        )  # GET: nothing
        assert CheckIn.objects.get(reservation=ana).let_in_at is None
    with time_machine.travel(s1.ends_at, tick=False):
        late = client.post(
            f"/admin/groups/groupsession/{s1.pk}/room/let-in/", {"reservation": ana.pk}, follow=True
        )
        assert "The room opens with the join window" in late.content.decode()
    assert CheckIn.objects.get(reservation=ana).let_in_at is None
    # Staff may (every group).
    staff = UserFactory(is_staff=True)
    role_grant(staff, STAFF)
    staff_client = Client()
    sign_in(staff_client, staff)
    with time_machine.travel(s1.starts_at, tick=False):
        staff_client.post(f"/admin/groups/groupsession/{s1.pk}/room/let-in/", {"reservation": ana.pk})
    assert CheckIn.objects.get(reservation=ana).let_in_by_id == staff.pk


@pytest.mark.sqlite
@pytest.mark.django_db
def test_a_seat_moved_after_the_check_in_gets_no_way_in_and_leaves_the_lobby(group):
    ana = seat(group, first_name="Ana", last_name="Lopez")
    s1 = group.sessions.get(number=1)
    other = GroupFactory(therapist=licensed_therapist("NY"), price=group.price)
    staff = UserFactory(is_staff=True)
    role_grant(staff, STAFF)
    with time_machine.travel(s1.starts_at - dt.timedelta(minutes=5), tick=False):
        knock(ana, s1)
        room_let_in(session=s1, actor=group.therapist.user)
        reservation_move(reservation=ana, to_group=other, actor=staff)
        ana.refresh_from_db()
        assert ana.status == Reservation.Status.CANCELLED
        answer = room(signed_in(ana.member), ana, s1)
        assert answer.status_code == 302 and "jwt=" not in answer.url
        assert "Lopez" not in live(therapist_client(group), s1)  # not on this session's roster now


@pytest.mark.sqlite
@pytest.mark.django_db
def test_with_daily_the_live_view_says_who_is_in_the_room_now(daily, group):
    ana = seat(group, first_name="Ana", last_name="Lopez")
    ben = seat(group, first_name="Ben", last_name="Okafor")
    s1 = group.sessions.get(number=1)
    client = therapist_client(group)
    with time_machine.travel(s1.starts_at, tick=False):
        knock(ana, s1)
        knock(ben, s1)
        room_let_in(session=s1, actor=group.therapist.user)
        page = room(signed_in(ana.member), ana, s1).content.decode()
        room(signed_in(ben.member), ben, s1)
        # Ana's frame opens the room with her token (as her browser would); Ben's never does.
        token = way_in(page).split("?t=")[1]
        assert daily.join(daily.tokens[0]["room_name"], token)
    from django.core.cache import cache

    cache.clear()
    with time_machine.travel(s1.starts_at, tick=False):  # Ben was let in a moment ago: on his way
        assert {r["name"]: r["room"] for r in client.get(f"/api/sessions/{s1.pk}/attendance/").json()} == {
            "Ana Lopez": "in_room",
            "Ben Okafor": "let_in",
        }
    cache.clear()
    with time_machine.travel(s1.starts_at + dt.timedelta(minutes=1), tick=False):
        rows = {r["name"]: r for r in client.get(f"/api/sessions/{s1.pk}/attendance/").json()}
        page = live(client, s1)
    assert rows["Ana Lopez"]["room"] == "in_room" and rows["Ben Okafor"]["room"] == "out"
    assert "In the room · since" in page and "Let in, not in the room now" in page
    assert any(q.path.endswith("/presence") for q in daily.requests)
    # Daily not answering: the live view still opens, and says only who was let in.
    cache.clear()
    daily.fail_next = [500]
    with time_machine.travel(s1.starts_at, tick=False):
        assert client.get(f"/api/sessions/{s1.pk}/attendance/").json()[0]["room"] == "let_in"
        asked = sum(q.path.endswith("/presence") for q in daily.requests)
        client.get(f"/api/sessions/{s1.pk}/attendance/")  # the next refresh: not asked again
        assert sum(q.path.endswith("/presence") for q in daily.requests) == asked


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_clinicians_and_a_member_at_once_let_each_member_in_once(group):
    """The therapist and staff press "let everyone in" while a member reloads the lobby: each
    member is let in once, by one of them, in one audit entry."""
    ana = seat(group, first_name="Ana", last_name="Lopez")
    ben = seat(group, first_name="Ben", last_name="Okafor")
    s1 = group.sessions.get(number=1)
    staff = UserFactory(is_staff=True)
    at = s1.starts_at - dt.timedelta(minutes=2)
    with time_machine.travel(at, tick=False):
        knock(ana, s1)
        knock(ben, s1)
    counts: list[int] = []
    barrier = threading.Barrier(3)

    def press(who: User) -> None:
        barrier.wait()
        with time_machine.travel(at, tick=False):
            counts.append(room_let_in(session=s1, actor=who))
        connection.close()

    def reload() -> None:
        client = signed_in(ana.member)
        barrier.wait()
        with time_machine.travel(at, tick=False):
            room(client, ana, s1)
        connection.close()

    threads = [
        threading.Thread(target=press, args=(group.therapist.user,)),
        threading.Thread(target=press, args=(staff,)),
        threading.Thread(target=reload),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(counts) == 2
    let_in = [e.data["reservations"] for e in AuditEntry.objects.filter(action="session.let_in")]
    assert sorted(r for entry in let_in for r in entry) == sorted([ana.pk, ben.pk])
    rows = CheckIn.objects.filter(session=s1, admitted=True)
    assert all(c.let_in_at is not None and c.knocked_at is not None for c in rows)


@pytest.mark.sqlite
@pytest.mark.django_db
def test_make_runs_stand_in_room_plays_the_provider(settings, group):
    """``VIDEO_PROVIDER=local`` (make run's default): the lobby, then a signed way into a page
    of this site that plays the room, framed by our room page alone; the live view says who
    has it open. A way in for another room, altered or expired, opens nothing."""
    settings.VIDEO_PROVIDER, settings.SITE_URL = "local", "http://testserver"
    ana = seat(group, first_name="Ana", last_name="Lopez")
    s1 = group.sessions.get(number=1)
    client = signed_in(ana.member)
    with time_machine.travel(s1.starts_at, tick=False):
        knock(ana, s1)
        room_let_in(session=s1, actor=group.therapist.user)
        page = room(client, ana, s1)
        url = (
            re.search(r'<iframe class="room" src="([^"]+)"', page.content.decode())
            .group(1)
            .replace("&amp;", "&")
        )
        assert url.startswith(f"http://testserver/video/stand-in/{room_name(s1)}/?t=")
        assert "frame-src http://testserver" in page["Content-Security-Policy"]
        inside = Client().get(url)  # the frame: its token is the way in, as a provider's is
        assert inside.status_code == 200 and "You are Ana L." in inside.content.decode()
        assert "frame-ancestors 'self'" in inside["Content-Security-Policy"]
        assert inside["X-Frame-Options"] == "SAMEORIGIN"
        other_room = url.replace(room_name(s1), room_name(group.sessions.get(number=2)))
        assert Client().get(other_room).status_code == 403
        assert Client().get(url[:-3] + "abc").status_code == 403
        rows = {r["name"]: r for r in _api(group).get(f"/api/sessions/{s1.pk}/attendance/").json()}
        assert rows["Ana Lopez"]["room"] == "in_room"
    from django.core.cache import cache

    cache.clear()
    with time_machine.travel(s1.starts_at + dt.timedelta(minutes=2), tick=False):
        # She closed the stand-in (it reloads every 15 s while open): gone from the room.
        assert "Here now: Ana L." in Client().get(url).content.decode()  # back in
    with time_machine.travel(s1.starts_at + dt.timedelta(minutes=3), tick=False):
        rows = {r["name"]: r for r in _api(group).get(f"/api/sessions/{s1.pk}/attendance/").json()}
        assert rows["Ana Lopez"]["room"] == "out"
    with time_machine.travel(s1.ends_at, tick=False):
        assert Client().get(url).status_code == 403  # the session is over
    settings.VIDEO_PROVIDER = "static"
    assert Client().get(url).status_code == 404  # no stand-in with any other provider


def _api(group):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(group.therapist.user)
    role_grant(group.therapist.user, THERAPIST)
    return api
