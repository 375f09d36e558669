"""A group's roster as its therapist sees it: a fixed handful of queries, whatever its size."""

from dataclasses import dataclass, field

from django.db.models import Count
from django.utils import timezone

from enrollment.models import Attendance, Reservation, ResidenceAlert, WaitlistEntry
from grouport.exports import csv_text
from grouport.states import STATE_NAMES, time_zone_name
from groups.models import Group, GroupSession


@dataclass
class RosterRow:
    reservation: Reservation
    name: str
    email: str
    state: str
    time_zone: str
    joined_on: str
    agreement: str = ""  # the group agreement's version the member accepted ("v1")
    present: int = 0
    marked: int = 0
    flagged: bool = False
    by_session: dict[int, str] = field(default_factory=dict)

    @property
    def attendance_rate(self) -> str:
        return f"{round(100 * self.present / self.marked)}%" if self.marked else "—"


@dataclass
class Roster:
    group: Group
    members: list[RosterRow]
    held: list[Reservation]
    waitlist: list[WaitlistEntry]
    sessions: list[GroupSession]
    present_by_session: dict[int, int]
    alerts: list[ResidenceAlert] = field(default_factory=list)


def group_roster(*, group: Group) -> Roster:
    """Confirmed members with attendance, held seats with their expiry, the waitlist in order."""
    now = timezone.now()
    confirmed = list(
        Reservation.objects.filter(group=group, status=Reservation.Status.CONFIRMED)
        .select_related("member", "agreement")
        .order_by("member__last_name", "member__first_name", "pk")
    )
    held = list(
        Reservation.objects.filter(group=group, status=Reservation.Status.HELD, expires_at__gt=now)
        .select_related("member")
        .order_by("expires_at")
    )
    waitlist = list(
        WaitlistEntry.objects.filter(group=group, status__in=WaitlistEntry.ACTIVE)
        .select_related("member")
        .order_by("created_at", "pk")
    )
    sessions = list(GroupSession.objects.filter(group=group).order_by("number"))
    marks = Attendance.objects.filter(session__group=group, reservation__in=confirmed).values_list(
        "reservation_id", "session_id", "status"
    )
    rows = {
        r.pk: RosterRow(
            reservation=r,
            name=r.member.get_full_name() or f"Member #{r.member_id}",
            email=r.member.email,
            state=STATE_NAMES.get(r.member.state, r.member.state),
            time_zone=time_zone_name(r.member.time_zone),
            joined_on=f"{timezone.localtime(r.confirmed_at):%Y-%m-%d}" if r.confirmed_at else "",
            agreement=f"v{r.agreement.version}" if r.agreement_id else "",
        )
        for r in confirmed
    }
    for reservation_id, session_id, status in marks:
        row = rows[reservation_id]
        row.by_session[session_id] = status
        row.marked += 1
        row.present += status == Attendance.Status.PRESENT
    present = dict(
        Attendance.objects.filter(session__group=group, status=Attendance.Status.PRESENT)
        .values("session_id")
        .annotate(n=Count("pk"))
        .values_list("session_id", "n")
    )
    alerts = list(
        ResidenceAlert.objects.filter(group=group, status=ResidenceAlert.Status.OPEN)
        .select_related("reservation")
        .order_by("created_at", "pk")
    )
    for alert in alerts:
        if alert.reservation_id in rows:
            rows[alert.reservation_id].flagged = True
    return Roster(group, list(rows.values()), held, waitlist, sessions, present, alerts)


ROSTER_COLUMNS = ["name", "email", "state", "time zone", "joined on", "agreement", "attendance rate"]


def roster_csv(roster: Roster) -> str:
    """The roster's columns as CSV, one member a row, with attendance per session after them."""
    return csv_text(
        ROSTER_COLUMNS + [f"week {s.number}" for s in roster.sessions],
        (
            [row.name, row.email, row.state, row.time_zone, row.joined_on, row.agreement, row.attendance_rate]
            + [row.by_session.get(s.pk, "") for s in roster.sessions]
            for row in roster.members
        ),
    )
