"""Video rooms: one per session, and a way in for each admitted check-in, made only then.

``VIDEO_PROVIDER`` says which provider holds the rooms:

- ``static``: the group's own video link, the same every week. Local development only
  (``make run``); production refuses to start with it (``config/settings/safety.py``).
- ``jitsi``: Jitsi Meet with JWT authentication, self-hosted (``JITSI_APP_SECRET``, HS256)
  or 8x8's hosted service (``JITSI_PRIVATE_KEY`` and ``JITSI_KEY_ID``, RS256). Each way in
  is a token naming the session's room, valid from the join window's opening to the
  session's end, with the participant's display name and whether they moderate.

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
from urllib.parse import quote

import jwt
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from django.utils.crypto import salted_hmac

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
                    "lobby_bypass": participant.moderator,
                },
                "room": {"lobby": True},  # members wait until the therapist lets them in
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


def video_provider() -> VideoProvider:
    if settings.VIDEO_PROVIDER == "static":
        return StaticVideo()
    if settings.VIDEO_PROVIDER == "jitsi":
        return JitsiVideo()
    raise ImproperlyConfigured(
        f"VIDEO_PROVIDER {settings.VIDEO_PROVIDER!r} is not one we know (static, jitsi)"
    )


def member_way_in(*, session: GroupSession, member: User) -> str:
    """A member's way into this session's room: called only after their admitted check-in,
    while the join window is open. Valid from the window's opening to the session's end."""
    return video_provider().way_in(
        session=session,
        participant=Participant(id=f"member-{member.pk}", name=display_name(member)),
        not_before=session.join_opens_at,
        expires=session.ends_at,
    )


def host_way_in(*, session: GroupSession, clinician: User) -> str:
    """The therapist's (or staff's) way in, as host: they let members in from the lobby."""
    return video_provider().way_in(
        session=session,
        participant=Participant(id=f"staff-{clinician.pk}", name=display_name(clinician), moderator=True),
        not_before=session.join_opens_at,
        expires=session.ends_at,
    )
