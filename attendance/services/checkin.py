"""Joining a session: the join window, the check-in where a member says where they are, and
"I can't make it this week".

Telehealth licensing follows where the member *is* during the session, so a therapy
group's member confirms their state at every session, and only a state where the group's
therapist may treat them that day lets them through to the video (the rule itself is
``groups.eligibility.session_location_decision``). A check-in marks them present; a
refused one is kept for the therapist's roster. The video link is handed over only here.
"""

import datetime as dt
import logging
from dataclasses import dataclass
from enum import StrEnum

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from attendance.errors import JoinRefused
from attendance.lock_objects import lock_attendance
from attendance.models import Attendance, CheckIn
from attendance.services.attendance import attendance_flags_settle
from attendance.services.room import room_enter
from attendance.video import VideoUnavailable
from enrollment.lock_objects import lock_reservation
from enrollment.models import Reservation
from grouport.audit import audit_record, client_ip
from grouport.exceptions import InvalidInput
from grouport.models import User
from grouport.outbox import outbox_add
from grouport.states import is_valid_state
from grouport.transitions import transition
from groups.eligibility import Decision
from groups.models import Group, GroupSession
from groups.selectors import session_location_decision_for
from intake.selectors import member_intake
from intake.services import consent_check_signed

logger = logging.getLogger(__name__)


class JoinState(StrEnum):
    OPEN = "open"
    NOT_YET = "not_yet"
    ENDED = "ended"
    SESSION_CANCELLED = "session_cancelled"
    SEAT_CANCELLED = "seat_cancelled"
    SEAT_MOVED = "seat_moved"
    SEAT_NOT_CONFIRMED = "seat_not_confirmed"
    NOT_YOURS = "not_yours"
    # Only for "I can't make it": too late to say so, or they are already here.
    STARTED = "started"
    ALREADY_CHECKED_IN = "already_checked_in"


@dataclass(frozen=True)
class CheckInResult:
    admitted: bool
    check_in: CheckIn
    decision: Decision
    video_url: str  # the way into this session's room: only when admitted and let in
    waiting: bool = False  # admitted, in our lobby until the therapist lets them in


def join_state(
    *, reservation: Reservation, session: GroupSession, member: User, now: dt.datetime
) -> JoinState:
    """Whether ``member`` may go through ``reservation``'s join link for ``session`` now, and
    if not, why (each reason has its own plain message)."""
    if reservation.member_id != member.pk or session.group_id != reservation.group_id:
        return JoinState.NOT_YOURS
    if session.status == GroupSession.Status.CANCELLED:
        return JoinState.SESSION_CANCELLED
    if reservation.status == Reservation.Status.CANCELLED:
        if reservation.end_reason == Reservation.EndReason.MOVED:
            return JoinState.SEAT_MOVED
        return JoinState.SEAT_CANCELLED
    if reservation.status != Reservation.Status.CONFIRMED:
        return JoinState.SEAT_NOT_CONFIRMED
    if session.join_open(now):
        return JoinState.OPEN
    return JoinState.ENDED if now >= session.ends_at else JoinState.NOT_YET


def session_check_in(
    *,
    reservation: Reservation,
    session: GroupSession,
    member: User,
    state: str,
    at_usual_address: bool | None = None,
    location: str = "",
    now: dt.datetime | None = None,
    request=None,
    way_in: bool = True,
) -> CheckInResult:
    """Check ``member`` in to ``session`` from ``state`` (where they are right now).

    ``way_in``: make the way into the room now (the API's answer); the page asks for it when
    it shows the room, after its redirect.

    A therapy group's check-in is also the session's emergency plan: the member confirms
    they are at the usual address on their intake (``at_usual_address``), or says where
    they are (``location``), and today's telehealth consent must be signed.

    Raises ``JoinRefused`` when the link may not be used now. A therapy group's member in a
    state where the therapist may not treat them that day is not let in: the refusal is
    kept (and audited) for the therapist. Checking in twice, or twice at once, is one
    check-in: the member's row is locked, and a second admitted row cannot exist.
    """
    now = now or timezone.now()
    group = session.group
    therapy = group.kind == Group.Kind.THERAPY
    state = (state or "").strip().upper()
    if therapy and not is_valid_state(state):
        raise InvalidInput(_("Choose the state you are in right now."), code="invalid_state")
    location = " ".join((location or "").split())[:300]
    if therapy:
        at_usual_address = location_check(member=member, at_usual_address=at_usual_address, location=location)
    else:
        at_usual_address, location = None, ""
    with transaction.atomic():
        reservation = lock_reservation(reservation.pk)
        answer = join_state(reservation=reservation, session=session, member=member, now=now)
        if answer != JoinState.OPEN:
            raise JoinRefused(answer, session=session)
        check_in = CheckIn.objects.filter(session=session, reservation=reservation, admitted=True).first()
        decision = Decision(True)
        if check_in is None:
            check_in, decision = _record(
                reservation=reservation,
                session=session,
                member=member,
                state=state,
                at_usual_address=at_usual_address,
                location=location,
                now=now,
                request=request,
            )
    # The way into the room is asked of the provider after the row lock is let go.
    if check_in.admitted:
        return _admitted(check_in, member=member, way_in=way_in)
    return CheckInResult(False, check_in, decision, "")


def _record(
    *,
    reservation: Reservation,
    session: GroupSession,
    member: User,
    state: str,
    at_usual_address: bool | None,
    location: str,
    now: dt.datetime,
    request,
) -> tuple[CheckIn, Decision]:
    """A new check-in, inside the caller's transaction with the reservation locked."""
    therapy = session.group.kind == Group.Kind.THERAPY
    if therapy:
        # A consent published since they signed is asked before the next session.
        consent_check_signed(member=member, now=now)
    decision = session_location_decision_for(session=session, state=state) if therapy else Decision(True)
    ip = client_ip(request) if request is not None else None
    try:
        with transaction.atomic():
            check_in = CheckIn.objects.create(
                session=session,
                reservation=reservation,
                at=now,
                state=state if is_valid_state(state) else "",
                admitted=decision.eligible,
                reasons=decision.reason_codes,
                ip_address=ip,
                at_usual_address=at_usual_address,
                location="" if at_usual_address else location,
            )
    except IntegrityError:
        # Another tap won the race (the row lock makes this rare): the same check-in.
        return CheckIn.objects.get(session=session, reservation=reservation, admitted=True), Decision(True)
    audit_record(
        actor=member,
        action="session.checked_in" if decision.eligible else "session.check_in_refused",
        obj=check_in,
        data={"session": session.pk, "reservation": reservation.pk, "state": check_in.state},
        request=request,
    )
    if decision.eligible:
        _mark_present(reservation=reservation, session=session, at=now)
        # They came back: the "we missed you" notes on the roster have done their work.
        attendance_flags_settle(
            reservation_id=reservation.pk,
            actor=None,
            note=f"Checked in to week {session.number}.",
            max_misses=None,
            below_limit=True,
            attended=session,
        )
    logger.info(
        "session %s: reservation %s check-in %s",
        session.pk,
        reservation.pk,
        "admitted" if decision.eligible else "refused",
    )
    return check_in, decision


def _admitted(check_in: CheckIn, *, member: User, way_in: bool) -> CheckInResult:
    """An admitted check-in's answer. ``way_in``: ask for the way into the room now (the
    member waits in our lobby until let in); "" when the provider does not answer: the
    check-in stands, and the page (or the API) asks again."""
    if not way_in:
        return CheckInResult(True, check_in, Decision(True), "")
    try:
        room = room_enter(check_in=check_in, member=member)
    except VideoUnavailable as exc:
        logger.warning("session %s: the video provider did not answer (%s)", check_in.session_id, exc)
        return CheckInResult(True, check_in, Decision(True), "")
    return CheckInResult(True, check_in, Decision(True), room.way_in, waiting=room.waiting)


def location_check(*, member: User, at_usual_address: bool | None, location: str) -> bool:
    """Raise unless the member said where help could reach them during this session: at the
    usual address on their intake, or somewhere they name (always, when no address is kept).
    Return whether they are at a usual address we keep (then no other place is stored)."""
    intake = member_intake(member)
    has_address = intake is not None and bool(intake.usual_address)
    if at_usual_address and has_address:
        return True
    if at_usual_address is None and has_address:
        raise InvalidInput(
            _("Tell us whether you are at your usual address for this session."), code="location_required"
        )
    if len(location) < 5:
        raise InvalidInput(
            _("Tell us where you are for this session: a street and city, or a place help could be sent to."),
            code="location_required",
        )
    return False


def _mark_present(*, reservation: Reservation, session: GroupSession, at: dt.datetime) -> None:
    row = lock_attendance(Attendance.objects.filter(session=session, reservation=reservation)).first()
    if row is None:
        Attendance.objects.create(
            session=session,
            reservation=reservation,
            status=Attendance.Status.PRESENT,
            source=Attendance.Source.CHECK_IN,
            joined_at=at,
            marked_at=at,
        )
        return
    row.joined_at, row.marked_at, row.source, row.marked_by = at, at, Attendance.Source.CHECK_IN, None
    if row.status == Attendance.Status.PRESENT:
        row.save(update_fields=["joined_at", "marked_at", "source", "marked_by"])
    else:
        # They said they could not come, then came after all: present.
        transition(
            row,
            to=Attendance.Status.PRESENT,
            fields=("joined_at", "marked_at", "source", "marked_by"),
            audit=False,
        )


def session_excuse(
    *,
    reservation: Reservation,
    session: GroupSession,
    member: User,
    now: dt.datetime | None = None,
    request=None,
) -> Attendance:
    """ "I can't make it this week": before the session starts, mark the member excused and
    tell the therapist (by email, from the outbox). Saying it twice changes nothing."""
    now = now or timezone.now()
    with transaction.atomic():
        reservation = lock_reservation(reservation.pk)
        answer = join_state(reservation=reservation, session=session, member=member, now=now)
        if answer not in (JoinState.OPEN, JoinState.NOT_YET):
            raise JoinRefused(answer, session=session)
        if now >= session.starts_at:
            raise JoinRefused(JoinState.STARTED, session=session)
        if CheckIn.objects.filter(session=session, reservation=reservation, admitted=True).exists():
            raise JoinRefused(JoinState.ALREADY_CHECKED_IN, session=session)
        row = lock_attendance(Attendance.objects.filter(session=session, reservation=reservation)).first()
        if row is not None and row.status == Attendance.Status.EXCUSED:
            return row
        if row is None:
            row = Attendance.objects.create(
                session=session,
                reservation=reservation,
                status=Attendance.Status.EXCUSED,
                source=Attendance.Source.MEMBER_NOTICE,
                marked_at=now,
            )
        else:
            row.source, row.marked_at, row.marked_by = Attendance.Source.MEMBER_NOTICE, now, None
            transition(
                row, to=Attendance.Status.EXCUSED, fields=("source", "marked_at", "marked_by"), audit=False
            )
        audit_record(
            actor=member,
            action="session.excused",
            obj=row,
            data={"session": session.pk, "reservation": reservation.pk},
            request=request,
        )
        outbox_add(
            kind="attendance.therapist_note",
            payload={"session": session.pk, "kind": "excused"},
            key=f"excused-{session.pk}-{reservation.pk}",
        )
    return row
