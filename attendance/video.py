"""Video rooms: one per session, and a way in for each admitted check-in, made only then.

``VIDEO_PROVIDER`` says which provider holds the rooms:

- ``local`` (the default for ``make run``): a stand-in room served by this site
  (``/video/stand-in/<room>/``), with signed ways in, a host and who is in the room, so the
  lobby, the host's link and the room on our page can be tried with no account anywhere.
- ``static``: the group's own video link, the same every week (development only).
  Production refuses ``local`` and ``static`` (``config/settings/safety.py``).
- ``jitsi``: Jitsi Meet with JWT authentication, self-hosted (``JITSI_APP_SECRET``, HS256)
  or 8x8's hosted service (``JITSI_PRIVATE_KEY`` and ``JITSI_KEY_ID``, RS256). Each way in
  is a token naming the session's room, valid from the join window's opening to the
  session's end, with the participant's display name and whether they moderate.
- ``daily``: Daily (``DAILY_API_KEY``, ``DAILY_DOMAIN``): a private room per session made
  through its REST API, and a meeting token per participant.

A room's name says nothing about the group (an HMAC of the session's id under the site's
secret): it cannot be guessed from last week's, and a member cannot find next week's. The
way in is made by ``session_way_in`` only for a confirmed seat's admitted check-in while the
session's join window is open (``attendance/services/checkin.py`` asks), or for the group's
therapist and staff from the live view, as host. Nothing here is logged, emailed or put in
a calendar.
"""

import datetime as dt
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import quote, urlsplit

import jwt
import requests
from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.dateparse import parse_datetime

from grouport.models import User
from groups.models import GroupSession

ROOM_SALT = "grouport.video.room"


@dataclass(frozen=True)
class Participant:
    """Who goes in: an id of ours (no email), the name the room shows, host or not."""

    id: str
    name: str
    moderator: bool = False


def display_name(user: User) -> str:
    """First name and last initial ("Ana L."): never an email, never a full name."""
    first = (user.first_name or "").strip()
    last = (user.last_name or "").strip()
    if not first:
        return "Member"
    return f"{first} {last[0]}." if last else first


def room_name(session: GroupSession) -> str:
    return "grouport-" + salted_hmac(ROOM_SALT, str(session.pk)).hexdigest()[:24]


class VideoProvider(Protocol):
    name: str

    def origin(self) -> str:
        """Where the room is served from (for the Content-Security-Policy of our pages)."""
        ...

    def way_in(
        self,
        *,
        session: GroupSession,
        participant: Participant,
        not_before: dt.datetime,
        expires: dt.datetime,
    ) -> str:
        """The address that lets ``participant`` into ``session``'s room, and only that room."""
        ...


class StaticVideo:
    """The group's own link (development): the same for every session and every person."""

    name = "static"

    def origin(self) -> str:
        return ""

    def way_in(self, *, session, participant, not_before, expires) -> str:
        return session.group.video_url


class JitsiVideo:
    """Jitsi Meet with JWT authentication (the Prosody token plugin, or 8x8's JaaS)."""

    name = "jitsi"

    def origin(self) -> str:
        return f"https://{settings.JITSI_DOMAIN}"

    def claims(
        self,
        *,
        session: GroupSession,
        participant: Participant,
        not_before: dt.datetime,
        expires: dt.datetime,
    ) -> dict:
        hosted = bool(settings.JITSI_PRIVATE_KEY)  # 8x8's service: the tenant is the app id
        return {
            "aud": "jitsi",
            "iss": "chat" if hosted else settings.JITSI_APP_ID,
            "sub": settings.JITSI_APP_ID if hosted else settings.JITSI_DOMAIN,
            "room": room_name(session),
            "iat": int(timezone.now().timestamp()),
            "nbf": int(not_before.timestamp()),
            "exp": int(expires.timestamp()),
            "context": {
                "user": {
                    "id": participant.id,
                    "name": participant.name,
                    # 8x8 reads a string; Prosody's token_moderation a boolean-like value.
                    "moderator": "true" if participant.moderator else "false",
                    "affiliation": "owner" if participant.moderator else "member",
                    # Our lobby let them in already (attendance/services/room.py): the token is
                    # made only then, so Jitsi's own lobby would make them wait twice.
                    "lobby_bypass": True,
                },
                "features": {"recording": False, "livestreaming": False, "transcription": False},
            },
        }

    def token(self, **kwargs) -> str:
        claims = self.claims(**kwargs)
        if settings.JITSI_PRIVATE_KEY:
            return jwt.encode(
                claims, settings.JITSI_PRIVATE_KEY, algorithm="RS256", headers={"kid": settings.JITSI_KEY_ID}
            )
        return jwt.encode(claims, settings.JITSI_APP_SECRET, algorithm="HS256")

    def way_in(self, *, session, participant, not_before, expires) -> str:
        token = self.token(session=session, participant=participant, not_before=not_before, expires=expires)
        tenant = f"{settings.JITSI_APP_ID}/" if settings.JITSI_PRIVATE_KEY else ""
        return f"{self.origin()}/{tenant}{quote(room_name(session))}?jwt={token}"


class VideoUnavailable(Exception):
    """The video provider did not answer (down, an error, too slow): the member is checked in
    all the same, and the page offers to try again."""


class DailyVideo:
    """Daily: a private room per session made through its REST API (with an expiry at the
    session's end, knocking on, a cap of the group's seats and its hosts), and a meeting token
    per participant, asked of Daily. Daily's lobby holds only people without a token (its
    docs: a meeting token's holder goes straight in), so members wait in ours, and their
    token is made once the therapist lets them in."""

    name = "daily"
    TIMEOUT = (2.0, 6.0)  # connect, read: inside a web request

    def origin(self) -> str:
        domain = settings.DAILY_DOMAIN.rstrip("/")
        return domain if domain.startswith(("https://", "http://")) else f"https://{domain}"

    def _api(self, method: str, path: str, body: dict | None = None) -> requests.Response:
        try:
            return requests.request(
                method,
                settings.DAILY_API_BASE.rstrip("/") + path,
                json=body,
                headers={"Authorization": f"Bearer {settings.DAILY_API_KEY}"},
                timeout=self.TIMEOUT,
            )
        except requests.RequestException as exc:
            raise VideoUnavailable(type(exc).__name__) from None

    def room(self, session: GroupSession) -> dict:
        """The session's room, made the first time someone is let in (made once: a second
        maker finds it)."""
        name = room_name(session)
        found = self._api("GET", f"/rooms/{name}")
        if found.status_code == 200:
            return found.json()
        if found.status_code != 404:
            raise VideoUnavailable(f"daily {found.status_code}")
        made = self._api(
            "POST",
            "/rooms",
            {
                "name": name,
                "privacy": "private",  # nobody in without a token
                "properties": {
                    "nbf": int(session.join_opens_at.timestamp()),
                    "exp": int(session.ends_at.timestamp()),
                    "eject_at_room_exp": True,
                    # Someone without a token (nobody of ours) can only knock and wait.
                    "enable_knocking": True,
                    "enable_prejoin_ui": True,
                    "max_participants": session.group.capacity + 2,
                },
            },
        )
        if made.status_code == 200:
            return made.json()
        if made.status_code == 400 and "already exists" in str(made.json().get("info", "")):
            return self.room(session)
        raise VideoUnavailable(f"daily {made.status_code}")

    def way_in(self, *, session, participant, not_before, expires) -> str:
        room = self.room(session)
        answer = self._api(
            "POST",
            "/meeting-tokens",
            {
                "properties": {
                    "room_name": room["name"],
                    "nbf": int(not_before.timestamp()),
                    "exp": int(expires.timestamp()),
                    "user_name": participant.name,
                    "user_id": participant.id,
                    "is_owner": participant.moderator,
                }
            },
        )
        if answer.status_code != 200:
            raise VideoUnavailable(f"daily {answer.status_code}")
        return f"{room['url']}?t={answer.json()['token']}"

    def presence(self, session: GroupSession) -> dict[str, dt.datetime]:
        """Who is in the session's room now, by our participant id, and since when (Daily's
        snapshot may be up to 15 seconds old). A room not made yet has nobody in it."""
        answer = self._api("GET", f"/rooms/{room_name(session)}/presence")
        if answer.status_code == 404:
            return {}
        if answer.status_code != 200:
            raise VideoUnavailable(f"daily {answer.status_code}")
        present = {}
        for row in answer.json().get("data") or []:
            joined = parse_datetime(str(row.get("joinTime") or "")) or timezone.now()
            present[str(row.get("userId") or "")] = joined
        return present


class LocalVideo:
    """Development's stand-in (``make run``): a page of this site plays the room. Its ways in
    are signed like a provider's tokens (room, name, host, the same window), and it says who
    has the room open, as Daily's presence does. Production refuses it."""

    name = "local"
    SALT = "grouport.video.local"

    def origin(self) -> str:
        parts = urlsplit(settings.SITE_URL)
        return f"{parts.scheme}://{parts.netloc}"

    def way_in(self, *, session, participant, not_before, expires) -> str:
        room = room_name(session)
        token = signing.dumps(
            {
                "room": room,
                "id": participant.id,
                "name": participant.name,
                "host": participant.moderator,
                "nbf": int(not_before.timestamp()),
                "exp": int(expires.timestamp()),
            },
            salt=self.SALT,
        )
        return f"{self.origin()}/video/stand-in/{room}/?t={token}"

    def enter(self, *, room: str, token: str) -> dict | None:
        """Someone opens the stand-in room with ``token``: who they are, if it is a way into
        this room valid now (and they are then in the room), else ``None``."""
        try:
            claims = signing.loads(token, salt=self.SALT)
        except signing.BadSignature:
            return None
        now = int(timezone.now().timestamp())
        if claims.get("room") != room or not claims["nbf"] <= now < claims["exp"]:
            return None
        key = f"video:local:{room}"
        present = self._present(room)
        since = present[claims["id"]][1] if claims["id"] in present else timezone.now()
        present[claims["id"]] = (claims["name"], since, timezone.now())
        cache.set(key, present, max(1, claims["exp"] - now))
        return claims

    # The stand-in page reloads itself every 15 seconds while open: someone not seen for
    # longer than this has left (as a provider notices a closed tab).
    GONE_AFTER = dt.timedelta(seconds=40)

    def _present(self, room: str) -> dict[str, tuple[str, dt.datetime, dt.datetime]]:
        cutoff = timezone.now() - self.GONE_AFTER
        present = cache.get(f"video:local:{room}") or {}
        return {pid: row for pid, row in present.items() if row[2] >= cutoff}

    def here(self, room: str) -> list[str]:
        return [name for name, _, _ in self._present(room).values()]

    def presence(self, session: GroupSession) -> dict[str, dt.datetime]:
        return {pid: since for pid, (_, since, _) in self._present(room_name(session)).items()}


def video_provider() -> VideoProvider:
    if settings.VIDEO_PROVIDER == "local":
        return LocalVideo()
    if settings.VIDEO_PROVIDER == "static":
        return StaticVideo()
    if settings.VIDEO_PROVIDER == "jitsi":
        return JitsiVideo()
    if settings.VIDEO_PROVIDER == "daily":
        return DailyVideo()
    raise ImproperlyConfigured(
        f"VIDEO_PROVIDER {settings.VIDEO_PROVIDER!r} is not one we know (local, static, jitsi, daily)"
    )


def member_id(member: User) -> str:
    """The id a member has in the room (the provider's records, its presence): no email."""
    return f"member-{member.pk}"


def member_way_in(*, session: GroupSession, member: User) -> str:
    """A member's way into this session's room: called only after their admitted check-in,
    while the join window is open. Valid from the window's opening to the session's end."""
    return video_provider().way_in(
        session=session,
        participant=Participant(id=member_id(member), name=display_name(member)),
        not_before=session.join_opens_at,
        expires=session.ends_at,
    )


def host_way_in(*, session: GroupSession, clinician: User) -> str:
    """The therapist's (or staff's) way in, as host (members waiting are let in from the
    live view: attendance/services/room.py)."""
    return video_provider().way_in(
        session=session,
        participant=Participant(id=f"staff-{clinician.pk}", name=display_name(clinician), moderator=True),
        not_before=session.join_opens_at,
        expires=session.ends_at,
    )


def room_presence(session: GroupSession) -> dict[str, dt.datetime] | None:
    """Who is in ``session``'s room now (participant id: since when), for providers that
    tell (Daily); ``None`` when the provider does not say (Jitsi without a presence module,
    the static link) or does not answer. Asked at most every 10 seconds per session."""
    provider = video_provider()
    if not hasattr(provider, "presence"):
        return None
    key = f"video:presence:{session.pk}"
    cached = cache.get(key)
    if cached is not None:
        return None if cached is False else cached  # False: it did not answer a moment ago
    try:
        present = provider.presence(session)
    except VideoUnavailable:
        # Remembered as long as an answer would be: a stalled provider costs the live view
        # one wait every 10 seconds, not one at every refresh.
        cache.set(key, False, 10)
        return None
    cache.set(key, present, 10)
    return present
