"""Personal join links: one per member and session, signed, unguessable.

``/join/<token>/`` names a reservation and a session and carries an HMAC of both under the
site's SECRET_KEY (``django.core.signing``, its own salt), so a token cannot be made up or
altered, and one member's token names only their own seat. It is not a secret on its own:
the page also wants the member signed in, and opens only in the session's window.
"""

from django.conf import settings
from django.core import signing
from django.urls import reverse

SALT = "grouport.join"


class BadJoinToken(Exception):
    """Not a join token we made (forged, altered or cut short)."""


def join_token(*, reservation_id: int, session_id: int) -> str:
    return signing.Signer(salt=SALT).sign(f"{reservation_id}-{session_id}")


def join_token_read(token: str) -> tuple[int, int]:
    """Return (reservation id, session id) from a token; raise ``BadJoinToken``."""
    try:
        value = signing.Signer(salt=SALT).unsign(token)
        reservation_id, session_id = (int(part) for part in value.split("-"))
    except (signing.BadSignature, ValueError) as exc:
        raise BadJoinToken() from exc
    return reservation_id, session_id


def join_path(*, reservation_id: int, session_id: int) -> str:
    return reverse("attendance:join", args=[join_token(reservation_id=reservation_id, session_id=session_id)])


def join_url(*, reservation_id: int, session_id: int) -> str:
    """The absolute link, for emails and calendar files."""
    return f"{settings.SITE_URL}{join_path(reservation_id=reservation_id, session_id=session_id)}"
