"""A session as it happens (the admin's live view, and the API): a fixed handful of queries."""

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

from attendance.models import Attendance, CheckIn
from attendance.video import member_id, room_presence
from enrollment.models import Reservation
from grouport.states import STATE_NAMES
from groups.models import Group, GroupSession
from intake.selectors import intake_summaries


@dataclass
class LiveRow:
    name: str
    status: str  # checked_in, excused, refused, not_joined
    joined_at: dt.datetime | None = None
    late_minutes: int = 0
    state: str = ""
    # The emergency plan, during the session only (therapy groups): where they are, how to
    # reach them and their emergency contact.
    where: str = ""
    phone: str = ""
    emergency: str = ""
    reservation_id: int = 0
    # The video room (attendance/services/room.py), while the join window is open: waiting
    # (asked to be let in), let_in, in_room (the provider says they are in it now), or
    # out (let in, and the provider says they are not in it now); "" before they ask.
    room: str = ""
    room_at: dt.datetime | None = None  # since when (waiting, let in, in the room)


def session_live(*, session: GroupSession, now: dt.datetime | None = None) -> list[LiveRow]:
    """A session as it happens: who checked in (when, from where, how late), who said they
    could not come, who tried from a state the therapist may not treat them in, who has
    not joined yet. While a therapy session runs (from its join window to its end), each
    checked-in row also carries the emergency plan: where the member is, their phone and
    their emergency contact's; after it ends, none of that is shown. While the join window
    is open, each admitted row also says where they are with the video room: waiting to be
    let in, let in, and (when the provider tells) in it now or not."""
    now = now or timezone.now()
    members = list(
        Reservation.objects.filter(
            group_id=session.group_id, status=Reservation.Status.CONFIRMED, confirmed_at__lt=session.ends_at
        )
        .select_related("member")
        .order_by("member__last_name", "member__first_name", "pk")
    )
    marks = {a.reservation_id: a for a in Attendance.objects.filter(session=session, reservation__in=members)}
    check_ins: dict[int, list[CheckIn]] = {}
    for c in CheckIn.objects.filter(session=session, reservation__in=members).order_by("at"):
        check_ins.setdefault(c.reservation_id, []).append(c)
    rows = []
    ended = now >= session.ends_at  # absent, even before the closing job runs
    plan = session.group.kind == Group.Kind.THERAPY and session.join_open(now)
    care = intake_summaries([r.member_id for r in members]) if plan else {}
    # Who is in the room now, when the provider says (Daily): one call, at most every 10 s.
    present = room_presence(session) if session.join_open(now) else None
    for r in members:
        name = r.member.get_full_name() or f"Member #{r.member_id}"
        admitted = next((c for c in check_ins.get(r.pk, []) if c.admitted), None)
        mark = marks.get(r.pk)
        if mark is not None and mark.source == Attendance.Source.THERAPIST:
            # The therapist corrected the sheet: that is what the session shows.
            if mark.status == Attendance.Status.PRESENT:
                at = admitted.at if admitted is not None else mark.joined_at
                late = max(0, int((at - session.starts_at).total_seconds() // 60)) if at else 0
                place = STATE_NAMES.get(admitted.state, "") if admitted is not None else ""
                rows.append(LiveRow(name, "checked_in", at, late, place))
            elif mark.status == Attendance.Status.EXCUSED:
                rows.append(LiveRow(name, "excused"))
            else:
                rows.append(LiveRow(name, "absent"))
        elif admitted is not None:
            late = max(0, int((admitted.at - session.starts_at).total_seconds() // 60))
            rows.append(LiveRow(name, "checked_in", admitted.at, late, STATE_NAMES.get(admitted.state, "")))
        elif mark is not None and mark.status == Attendance.Status.PRESENT:
            rows.append(LiveRow(name, "checked_in", mark.joined_at))
        elif mark is not None and mark.source == Attendance.Source.MEMBER_NOTICE:
            rows.append(LiveRow(name, "excused"))
        elif tried := check_ins.get(r.pk):
            # Tried from elsewhere (and, once the session closed, excused for it).
            rows.append(LiveRow(name, "refused", tried[-1].at, state=STATE_NAMES.get(tried[-1].state, "")))
        elif mark is not None and mark.status == Attendance.Status.EXCUSED:
            rows.append(LiveRow(name, "excused"))
        elif (mark is not None and mark.status == Attendance.Status.ABSENT) or ended:
            rows.append(LiveRow(name, "absent"))  # the session ended without them
        else:
            rows.append(LiveRow(name, "not_joined"))
        rows[-1].reservation_id = r.pk
        if admitted is not None and session.join_open(now):
            _room(
                rows[-1], admitted, present.get(member_id(r.member)) if present is not None else None, present
            )
        if plan and admitted is not None:
            summary = care.get(r.member_id)
            row = rows[-1]
            row.where = admitted.location or (summary.usual_address if summary else "")
            if summary is not None:
                row.phone = summary.phone
                row.emergency = f"{summary.emergency_contact} {summary.emergency_phone}".strip()
    return rows


# A member let in a moment ago is on their way in (their page asks every 5 seconds, and the
# provider's presence may be 15 seconds old): not "not in the room" yet.
JUST_LET_IN = dt.timedelta(seconds=45)


def _room(row: LiveRow, check_in: CheckIn, in_since: dt.datetime | None, present: dict | None) -> None:
    if check_in.let_in_at is None:
        if check_in.knocked_at is not None:
            row.room, row.room_at = "waiting", check_in.knocked_at
        return
    if present is None:  # the provider does not say who is in
        row.room, row.room_at = "let_in", check_in.let_in_at
    elif in_since is not None:
        row.room, row.room_at = "in_room", in_since
    elif timezone.now() - check_in.let_in_at < JUST_LET_IN:
        row.room, row.room_at = "let_in", check_in.let_in_at  # on their way in
    else:
        row.room, row.room_at = "out", check_in.let_in_at


def live_shows_plan(rows: list[LiveRow]) -> bool:
    """Whether a look at ``rows`` showed anyone's emergency plan (the audit entry says so)."""
    return any(r.where or r.phone or r.emergency for r in rows)
