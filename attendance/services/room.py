"""The session's video room, with our own lobby in front of it.

An admitted member who asks for the way in (the room's page, or the API's check-in) is
waiting: ``room_enter`` records when they first asked, and makes no way in. The group's
therapist (or staff) sees them waiting on the live view and lets them in
(``room_let_in``); from then on ``room_enter`` makes their way in, for this session's room
alone. Our lobby, not the provider's: Daily lets anyone holding a meeting token straight
past its own lobby, so a provider's lobby could not hold a member who has a token, and a
way in that does not exist yet cannot be shared.

Someone let in stays let in for the session: after a dropped connection they come back
without waiting again. A refused check-in, a seat that ended or moved, and a closed join
window never reach here (the views ask ``join_state`` first); ``room_enter`` takes the
admitted check-in itself.
"""

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from attendance.models import CheckIn
from attendance.video import member_way_in, video_provider
from grouport.audit import audit_record
from grouport.models import User
from groups.models import GroupSession


@dataclass(frozen=True)
class RoomAnswer:
    waiting: bool  # in our lobby: the therapist has not let them in yet
    way_in: str  # the provider's address with their own token; "" while waiting


def room_has_lobby() -> bool:
    """Whether members wait to be let in: every provider that makes a way in per person.
    The development stand-in (the group's static link) has nothing to hold them at."""
    return bool(video_provider().origin())


def room_enter(*, check_in: CheckIn, member: User, now: dt.datetime | None = None) -> RoomAnswer:
    """``member`` asks for the way into the room of ``check_in`` (theirs, admitted, while the
    join window is open). Waiting: nothing is made. Let in: their way in, made now (raises
    ``VideoUnavailable`` when the provider does not answer)."""
    assert check_in.admitted and check_in.reservation.member_id == member.pk
    session = check_in.session
    if not room_has_lobby():
        return RoomAnswer(False, member_way_in(session=session, member=member))
    if check_in.let_in_at is None:
        now = now or timezone.now()
        # The first ask is when they started waiting (a reload does not move them back).
        CheckIn.objects.filter(pk=check_in.pk, knocked_at__isnull=True).update(knocked_at=now)
        check_in.refresh_from_db(fields=["knocked_at", "let_in_at", "let_in_by"])
        if check_in.let_in_at is None:
            return RoomAnswer(True, "")
    return RoomAnswer(False, member_way_in(session=session, member=member))


def room_let_in(
    *,
    session: GroupSession,
    actor: User,
    reservation_ids: list[int] | None = None,
    now: dt.datetime | None = None,
    request=None,
) -> int:
    """Let members waiting for ``session``'s room in: those of ``reservation_ids``, or
    everyone waiting. Each is let in once: two clinicians pressing at once, or one pressing
    twice, let in the same people once (a compare-and-set on each check-in). Returns how
    many were let in now; audited with whom."""
    now = now or timezone.now()
    waiting = Q(session=session, admitted=True, knocked_at__isnull=False, let_in_at__isnull=True)
    if reservation_ids is not None:
        waiting &= Q(reservation_id__in=reservation_ids)
    with transaction.atomic():
        waiting_now = list(CheckIn.objects.filter(waiting).values_list("pk", "reservation_id"))
        # One compare-and-set per check-in (a group's handful): a racing clinician's update
        # waits on the row, then finds it let in and changes nothing, so nobody counts twice.
        changed = [
            reservation_id
            for pk, reservation_id in waiting_now
            if CheckIn.objects.filter(pk=pk, let_in_at__isnull=True).update(let_in_at=now, let_in_by=actor)
        ]
        if changed:
            audit_record(
                actor=actor,
                action="session.let_in",
                obj=session,
                data={"reservations": sorted(changed)},
                request=request,
            )
    return len(changed)
