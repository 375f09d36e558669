"""A room per session and a way in per admitted check-in (Jitsi Meet with JWT): the member
waits in our lobby until the therapist lets them in, and only then is a token made; it names
this session's room, is valid from the join window to the session's end, shows the member as
"Ana L.", and makes only the therapist a host. No way in for another member's link, a
cancelled or moved seat, a refused check-in, or after the session."""

import datetime as dt
import re
from decimal import Decimal
from urllib.parse import parse_qs, urlparse

import jwt
import pytest
import time_machine
from django.test import Client

from attendance.join import join_path, join_token
from attendance.video import JitsiVideo, room_name
from enrollment.services.reservations import reservation_cancel
from grouport.models import AuditEntry
from grouport.roles import THERAPIST, role_grant
from tests.factories import GroupFactory, licensed_therapist, seated, sign_in

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]

SECRET = "jitsi-test-secret-of-thirty-two-bytes-or-more"
STATIC = "https://video.example.com/the-same-every-week"
AT_HOME = {"at_usual_address": "yes"}


@pytest.fixture(autouse=True)
def jitsi(settings):
    settings.VIDEO_PROVIDER = "jitsi"
    settings.JITSI_DOMAIN, settings.JITSI_APP_ID, settings.JITSI_APP_SECRET = (
        "meet.example.org",
        "grouport",
        SECRET,
    )
    settings.JITSI_PRIVATE_KEY = ""


@pytest.fixture
def group():
    with time_machine.travel(dt.datetime(2026, 1, 1, tzinfo=dt.UTC), tick=False):
        return GroupFactory(
            therapist=licensed_therapist("NY"), starts_on=dt.date(2026, 3, 3), weekday=1,
            start_time=dt.time(19, 0), weeks=8, price=Decimal("0"), video_url=STATIC,
        )  # fmt: skip


def seat(group, **fields):
    return seated(group, at=dt.datetime(2026, 1, 2, tzinfo=dt.UTC), **fields)


def signed_in(who) -> Client:
    client = Client()
    client.force_login(who)
    return client


def way_in(page: str) -> str:
    found = re.search(r'<iframe class="room" src="(https://[^"]+)"', page)
    return found.group(1).replace("&amp;", "&") if found else ""


def room(client, r, s):
    """The room's page (the provider's frame on ours), after an admitted check-in."""
    return client.get(join_path(reservation_id=r.pk, session_id=s.pk) + "room/")


def let_in(group, s, *reservations) -> int:
    """The therapist lets them in (the live view's button calls this)."""
    from attendance.services.room import room_let_in

    return room_let_in(session=s, actor=group.therapist.user, reservation_ids=[r.pk for r in reservations])


def claims_of(url: str) -> dict:
    token = parse_qs(urlparse(url).query)["jwt"][0]
    return jwt.decode(
        token,
        SECRET,
        algorithms=["HS256"],
        audience="jitsi",
        options={"verify_nbf": False, "verify_exp": False},
    )


def test_an_admitted_check_in_gets_this_sessions_room_until_its_end(group, caplog):
    r = seat(group, first_name="Ana", last_name="Lopez")
    s1, s2 = group.sessions.get(number=1), group.sessions.get(number=2)
    client = signed_in(r.member)
    with time_machine.travel(s1.starts_at - dt.timedelta(minutes=5), tick=False):
        before = client.get(join_path(reservation_id=r.pk, session_id=s1.pk)).content.decode()
        assert "meet.example.org" not in before and "jwt=" not in before  # nothing before the check-in
        assert room(client, r, s1).status_code == 302  # no room before the check-in
        client.post(join_path(reservation_id=r.pk, session_id=s1.pk), {"state": "NY", **AT_HOME})
        joined = client.get(join_path(reservation_id=r.pk, session_id=s1.pk))
        assert let_in(group, s1, r) == 0  # nobody asked to be let in yet
        lobby = room(client, r, s1)
        assert (
            lobby.status_code == 200 and "Waiting for your therapist to let you in" in lobby.content.decode()
        )
        assert not way_in(lobby.content.decode()) and "jwt=" not in lobby.content.decode()
        assert (
            "frame-src" not in lobby["Content-Security-Policy"]
            and 'http-equiv="refresh"' in lobby.content.decode()
        )
        assert let_in(group, s1, r) == 1 and let_in(group, s1, r) == 0  # once
        answer = room(client, r, s1)
    assert "jwt=" not in joined.content.decode() and "room/" in joined.content.decode()
    page = answer.content.decode()
    url = way_in(page)
    assert url.startswith(f"https://meet.example.org/{room_name(s1)}?jwt=") and STATIC not in page
    # The room's page, and it alone, may frame the provider and let it use the camera.
    assert "frame-src https://meet.example.org;" in answer["Content-Security-Policy"] + ";"
    assert "frame-src" not in joined["Content-Security-Policy"]
    assert 'camera=(self "https://meet.example.org")' in answer["Permissions-Policy"]
    assert "camera=()" in joined["Permissions-Policy"]
    assert "988" in page and "Leave" in page
    claims = claims_of(url)
    assert claims["room"] == room_name(s1) != room_name(s2)
    assert claims["iss"] == "grouport" and claims["sub"] == "meet.example.org"
    assert claims["nbf"] == int(s1.join_opens_at.timestamp()) and claims["exp"] == int(s1.ends_at.timestamp())
    user = claims["context"]["user"]
    assert user["name"] == "Ana L." and user["moderator"] == "false" and r.member.email not in str(claims)
    assert user["lobby_bypass"] is True  # our lobby let them in: Jitsi's would hold them twice
    assert AuditEntry.objects.filter(action="session.let_in", data__reservations=[r.pk]).count() == 1
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "jwt" not in logged and room_name(s1) not in logged  # never in a log
    assert group.title not in room_name(s1) and re.fullmatch(r"grouport-[0-9a-f]{24}", room_name(s1))


def test_the_api_gives_the_same_way_in_only_after_an_admitted_check_in(group):
    from rest_framework.test import APIClient

    r = seat(group)
    s1 = group.sessions.get(number=1)
    api = APIClient()
    api.force_authenticate(r.member)
    with time_machine.travel(s1.starts_at, tick=False):
        token = join_token(reservation_id=r.pk, session_id=s1.pk)
        waiting = api.post(
            f"/api/join/{token}/check-in/",
            {"state": "NY", "at_usual_address": True},
            format="json",
        )
        assert waiting.status_code == 200, waiting.content
        assert waiting.json()["waiting"] is True and waiting.json()["video_url"] == ""
        let_in(group, s1, r)
        answer = api.post(
            f"/api/join/{token}/check-in/",
            {"state": "NY", "at_usual_address": True},
            format="json",
        )
    assert answer.status_code == 200, answer.content
    assert answer.json()["waiting"] is False
    assert claims_of(answer.json()["video_url"])["room"] == room_name(s1)


def test_no_way_in_for_a_refused_check_in_a_cancelled_seat_another_members_link_or_after_the_end(group):
    r, other = seat(group), seat(group)
    s1 = group.sessions.get(number=1)
    with time_machine.travel(s1.starts_at, tick=False):
        refused = signed_in(r.member).post(
            join_path(reservation_id=r.pk, session_id=s1.pk), {"state": "CA", **AT_HOME}
        )
        assert refused.status_code == 403 and "jwt=" not in refused.content.decode()
        theirs = signed_in(r.member).get(join_path(reservation_id=other.pk, session_id=s1.pk))
        assert theirs.status_code == 403 and "jwt=" not in theirs.content.decode()
        assert room(signed_in(r.member), r, s1).status_code == 302  # refused: no room
        assert room(signed_in(r.member), other, s1).status_code == 302  # not theirs: no room
        signed_in(other.member).post(
            join_path(reservation_id=other.pk, session_id=s1.pk), {"state": "NY", **AT_HOME}
        )
        room(signed_in(other.member), other, s1)
        assert let_in(group, s1, other) == 1
        reservation_cancel(reservation=other, actor=other.member)
        cancelled = signed_in(other.member).get(join_path(reservation_id=other.pk, session_id=s1.pk))
        assert cancelled.status_code == 410 and "jwt=" not in cancelled.content.decode()
        assert room(signed_in(other.member), other, s1).status_code == 302  # checked in, then cancelled
    with time_machine.travel(s1.ends_at, tick=False):
        after = signed_in(r.member).get(join_path(reservation_id=r.pk, session_id=s1.pk))
        assert after.status_code == 410 and "jwt=" not in after.content.decode()


def test_the_therapist_opens_the_room_as_host_from_the_live_view_in_its_window(client, group):
    therapist = group.therapist.user
    role_grant(therapist, THERAPIST)
    sign_in(client, therapist)
    s1 = group.sessions.get(number=1)
    with time_machine.travel(s1.starts_at - dt.timedelta(minutes=30), tick=False):
        early = client.get(f"/admin/groups/groupsession/{s1.pk}/room/")
        assert early.status_code == 302 and early.url.endswith(f"/admin/groups/groupsession/{s1.pk}/live/")
    with time_machine.travel(s1.starts_at - dt.timedelta(minutes=10), tick=False):
        live = client.get(f"/admin/groups/groupsession/{s1.pk}/live/").content.decode()
        assert "Open the room as host" in live
        answer = client.get(f"/admin/groups/groupsession/{s1.pk}/room/")
    claims = claims_of(answer.url)
    user = claims["context"]["user"]
    assert claims["room"] == room_name(s1) and user["moderator"] == "true" and user["lobby_bypass"] is True
    assert AuditEntry.objects.filter(action="session.room_opened", actor=therapist).exists()


def test_another_therapist_gets_no_host_way_in(client, group):
    outsider = licensed_therapist("NY").user
    role_grant(outsider, THERAPIST)
    sign_in(client, outsider)
    s1 = group.sessions.get(number=1)
    with time_machine.travel(s1.starts_at, tick=False):
        answer = client.get(f"/admin/groups/groupsession/{s1.pk}/room/")
    assert "meet.example.org" not in (answer.get("Location") or "")


def test_8x8s_hosted_service_signs_with_its_key(settings, group):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    settings.JITSI_PRIVATE_KEY = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    settings.JITSI_KEY_ID, settings.JITSI_DOMAIN = "vpaas-magic-cookie-abc/4f4910", "8x8.vc"
    settings.JITSI_APP_ID = "vpaas-magic-cookie-abc"
    s1 = group.sessions.get(number=1)
    r = seat(group)
    from attendance.video import member_way_in

    url = member_way_in(session=s1, member=r.member)
    assert url.startswith(f"https://8x8.vc/vpaas-magic-cookie-abc/{room_name(s1)}?jwt=")
    token = parse_qs(urlparse(url).query)["jwt"][0]
    assert jwt.get_unverified_header(token)["kid"] == "vpaas-magic-cookie-abc/4f4910"
    claims = jwt.decode(
        token,
        key.public_key(),
        algorithms=["RS256"],
        audience="jitsi",
        options={"verify_nbf": False, "verify_exp": False},
    )
    assert claims["iss"] == "chat" and claims["sub"] == "vpaas-magic-cookie-abc"


def test_the_static_link_stays_for_development(settings, group):
    settings.VIDEO_PROVIDER = "static"
    r = seat(group)
    s1 = group.sessions.get(number=1)
    client = signed_in(r.member)
    with time_machine.travel(s1.starts_at, tick=False):
        client.post(join_path(reservation_id=r.pk, session_id=s1.pk), {"state": "NY", **AT_HOME})
        assert STATIC in client.get(join_path(reservation_id=r.pk, session_id=s1.pk)).content.decode()
    assert JitsiVideo().origin() == "https://meet.example.org"


# --- Daily: rooms and meeting tokens through its REST API (the fake keeps its rules)


@pytest.fixture
def daily(settings):
    from tests import fake_daily

    fake, server = fake_daily.start()
    fake_daily.use_in_settings(settings, fake)
    yield fake
    server.shutdown()
    server.server_close()


def test_daily_makes_one_private_room_per_session_and_a_token_per_admitted_check_in(daily, group, client):
    r1 = seat(group, first_name="Ana", last_name="Lopez")
    r2 = seat(group, first_name="Ben", last_name="Okafor")
    s1 = group.sessions.get(number=1)
    with time_machine.travel(s1.starts_at - dt.timedelta(minutes=5), tick=False):
        for r in (r1, r2):
            member_client = signed_in(r.member)
            member_client.post(join_path(reservation_id=r.pk, session_id=s1.pk), {"state": "NY", **AT_HOME})
            room(member_client, r, s1)
            assert daily.tokens == [] and daily.rooms == {}  # nothing made while they wait
        for r in (r1, r2):
            let_in(group, s1, r)
            page = room(signed_in(r.member), r, s1)
            assert way_in(page.content.decode()).startswith(
                f"https://grouport-test.daily.co/{room_name(s1)}?t=daily-token-"
            )
            assert "frame-src https://grouport-test.daily.co" in page["Content-Security-Policy"]
        therapist = group.therapist.user
        role_grant(therapist, THERAPIST)
        sign_in(client, therapist)
        host = client.get(f"/admin/groups/groupsession/{s1.pk}/room/")
        assert host.url.startswith(f"https://grouport-test.daily.co/{room_name(s1)}?t=")
    (made,) = daily.rooms.values()
    assert made["privacy"] == "private" and made["name"] == room_name(s1)
    assert made["config"] == {
        "nbf": int(s1.join_opens_at.timestamp()),
        "exp": int(s1.ends_at.timestamp()),
        "eject_at_room_exp": True,
        "enable_knocking": True,
        "enable_prejoin_ui": True,
        "max_participants": group.capacity + 2,
    }
    assert len([q for q in daily.requests if q.method == "POST" and q.path == "/v1/rooms"]) == 1  # made once
    ana, ben, host_token = daily.tokens
    assert ana["user_name"] == "Ana L." and ben["user_name"] == "Ben O." and ana["is_owner"] is False
    assert ana["room_name"] == room_name(s1) and ana["exp"] == int(s1.ends_at.timestamp())
    assert ana["nbf"] == int(s1.join_opens_at.timestamp())
    assert host_token["is_owner"] is True and r1.member.email not in str(daily.requests)


def test_daily_not_answering_keeps_the_check_in_and_asks_again(daily, group):
    r = seat(group)
    s1 = group.sessions.get(number=1)
    client = signed_in(r.member)
    daily.fail_next = [500]
    with time_machine.travel(s1.starts_at, tick=False):
        client.post(join_path(reservation_id=r.pk, session_id=s1.pk), {"state": "NY", **AT_HOME})
        assert r.check_ins.filter(admitted=True).exists()
        room(client, r, s1)
        let_in(group, s1, r)
        daily.fail_next = [503]
        down = room(client, r, s1)
        assert down.status_code == 302 and down.url.endswith("?video=unavailable")
        page = client.get(down.url)
        assert page.status_code == 503 and "not answering" in page.content.decode()
        assert "988" in page.content.decode()
        assert "daily-token-" in room(client, r, s1).content.decode()


def test_the_api_says_503_when_the_video_service_is_down_and_the_check_in_stands(daily, group):
    from rest_framework.test import APIClient

    r = seat(group)
    s1 = group.sessions.get(number=1)
    api = APIClient()
    api.force_authenticate(r.member)
    url = f"/api/join/{join_token(reservation_id=r.pk, session_id=s1.pk)}/check-in/"
    with time_machine.travel(s1.starts_at, tick=False):
        waiting = api.post(url, {"state": "NY", "at_usual_address": True}, format="json")
        assert waiting.status_code == 200 and waiting.json()["waiting"] is True
        let_in(group, s1, r)
        daily.fail_next = [500]
        down = api.post(url, {"state": "NY", "at_usual_address": True}, format="json")
        assert down.status_code == 503 and down.json()["code"] == "video_unavailable"
        up = api.post(url, {"state": "NY", "at_usual_address": True}, format="json")
    assert up.status_code == 200 and "daily-token-" in up.json()["video_url"]
    assert r.check_ins.filter(admitted=True).count() == 1


def test_the_host_link_says_so_when_daily_does_not_answer(daily, client, group):
    therapist = group.therapist.user
    role_grant(therapist, THERAPIST)
    sign_in(client, therapist)
    s1 = group.sessions.get(number=1)
    daily.fail_next = [500]
    with time_machine.travel(s1.starts_at, tick=False):
        answer = client.get(f"/admin/groups/groupsession/{s1.pk}/room/", follow=True)
    assert "not answering" in answer.content.decode()
    assert not AuditEntry.objects.filter(action="session.room_opened").exists()


def test_daily_stalling_or_unreachable_keeps_the_check_in_and_says_so(settings, group, monkeypatch):
    """A provider that accepts the connection and never answers (or is not there at all): the
    member, let in, is told the video is not answering within the client's timeout, and the
    check-in and the let-in stand."""
    import socket

    from attendance.video import DailyVideo
    from tests import fake_daily

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)  # accepts, never answers
    fake = fake_daily.FakeDaily(url=f"http://127.0.0.1:{listener.getsockname()[1]}")
    fake_daily.use_in_settings(settings, fake)
    monkeypatch.setattr(DailyVideo, "TIMEOUT", (0.5, 0.5))
    r = seat(group)
    s1 = group.sessions.get(number=1)
    client = signed_in(r.member)
    try:
        with time_machine.travel(s1.starts_at, tick=True):
            client.post(join_path(reservation_id=r.pk, session_id=s1.pk), {"state": "NY", **AT_HOME})
            room(client, r, s1)
            let_in(group, s1, r)
            stalled = room(client, r, s1)
            assert stalled.status_code == 302 and stalled.url.endswith("?video=unavailable")
            settings.DAILY_API_BASE = "http://127.0.0.1:9/v1"  # nothing listens there
            refused = room(client, r, s1)
            assert refused.status_code == 302 and refused.url.endswith("?video=unavailable")
    finally:
        listener.close()
    check_in = r.check_ins.get(admitted=True)
    assert check_in.let_in_at is not None
