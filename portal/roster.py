"""A group's roster as its therapist sees it (seats, attendance, outcomes and alerts on one
page): a fixed handful of queries, whatever its size."""

from dataclasses import dataclass, field

from django.db.models import BooleanField, Count, ExpressionWrapper
from django.utils import timezone
from django.utils.safestring import mark_safe

from attendance.models import Attendance, AttendanceFlag, CheckIn
from care.models import Measure, MeasureResponse, OutcomeSurvey, SafetyAlert
from enrollment.models import Reservation, ResidenceAlert, WaitlistEntry
from grouport.exports import csv_text
from grouport.states import STATE_NAMES, time_zone_name
from groups.models import Group, GroupSession
from intake.selectors import IntakeSummary, intake_summaries
from texting.models import TextSubscription
from texting.services import receiving_q


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
    missed: int = 0  # sessions missed in a row, when a flag for it is open
    intake: IntakeSummary | None = None  # age, contacts, usual address, consent, screening
    texts: str = "off"  # whether they get our reminder texts: on, off, stopped (replied STOP)
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
    attendance_flags: list[AttendanceFlag] = field(default_factory=list)
    refused: list[CheckIn] = field(default_factory=list)
    safety_alerts: list[SafetyAlert] = field(default_factory=list)
    outcomes: list["OutcomeRow"] = field(default_factory=list)
    # Seats held while a clinician reviews the intake, and each member's intake (held and
    # in-review seats included), by member id.
    reviews: list[Reservation] = field(default_factory=list)
    intake: dict[int, IntakeSummary] = field(default_factory=dict)


@dataclass
class OutcomeRow:
    """One member's questionnaire scores over their program, for their therapist."""

    name: str
    scores: dict[str, list[tuple[str, int | None, str]]]  # measure → [(time point, total, band)]
    unanswered: list[str]  # time points asked and not answered
    safety_open: bool = False
    charts: dict[str, str] = field(default_factory=dict)

    def chart(self, measure: str, maximum: int) -> str:
        """A small line of the scores, drawn on the server (no script, no inline style)."""
        points = [
            (i, total)
            for i, (_point, total, _band) in enumerate(self.scores.get(measure, []))
            if total is not None
        ]
        if not points:
            return ""
        width, height, step = 90, 24, 40
        coords = " ".join(
            f"{5 + i * step},{height - 2 - round((height - 4) * t / maximum)}" for i, t in points
        )
        dots = "".join(
            f'<circle cx="{5 + i * step}" cy="{height - 2 - round((height - 4) * t / maximum)}" r="2.5" />'
            for i, t in points
        )
        return (
            f'<svg class="spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
            f'aria-label="{measure}: {", ".join(str(t) for _, t in points)}">'
            f'<polyline points="{coords}" fill="none" stroke="#1f5f8b" stroke-width="1.5" />{dots}</svg>'
        )


def group_roster(*, group: Group) -> Roster:
    """Confirmed members with attendance, held seats with their expiry, the waitlist in order."""
    now = timezone.now()
    confirmed = list(
        Reservation.objects.filter(group=group, status=Reservation.Status.CONFIRMED)
        .select_related("member", "agreement")
        .order_by("member__last_name", "member__first_name", "pk")
    )
    held = list(
        Reservation.objects.filter(group=group).holding(now).select_related("member").order_by("expires_at")
    )
    reviews = list(
        Reservation.objects.filter(group=group).in_review(now).select_related("member").order_by("expires_at")
    )
    care = intake_summaries([r.member_id for r in [*confirmed, *held, *reviews]])
    # Whether each gets texts (texting's rule, in the one query): on, off, or stopped.
    texting: dict[int, str] = {}
    subscriptions = TextSubscription.objects.filter(member_id__in=[r.member_id for r in confirmed]).annotate(
        receiving=ExpressionWrapper(receiving_q(), output_field=BooleanField())
    )
    for member_id, status, receiving in subscriptions.values_list("member_id", "status", "receiving"):
        off = status == TextSubscription.Status.OFF
        texting[member_id] = "on" if receiving else "off" if off else "stopped"
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
            intake=care.get(r.member_id),
            texts=texting.get(r.member_id, TextSubscription.Status.OFF),
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
    flags = list(
        AttendanceFlag.objects.filter(
            reservation__group=group,
            reservation__status=Reservation.Status.CONFIRMED,
            status=AttendanceFlag.Status.OPEN,
        )
        .select_related("reservation__member", "session")
        .order_by("-misses", "created_at")
    )
    for flag in flags:
        if flag.reservation_id in rows:
            rows[flag.reservation_id].missed = max(rows[flag.reservation_id].missed, flag.misses)
    # Check-ins refused because of where the member was: the therapist's to follow up.
    refused = list(
        CheckIn.objects.filter(session__group=group, admitted=False)
        .select_related("reservation__member", "session")
        .order_by("-at")[:50]
    )
    admitted_later = set(
        CheckIn.objects.filter(
            session_id__in={c.session_id for c in refused},
            reservation_id__in={c.reservation_id for c in refused},
            admitted=True,
        ).values_list("session_id", "reservation_id")
    )
    for c in refused:
        c.admitted_later = (c.session_id, c.reservation_id) in admitted_later
    safety = list(
        SafetyAlert.objects.filter(reservation__group=group, status__in=SafetyAlert.UNREVIEWED)
        .select_related("reservation__member", "survey")
        .order_by("created_at", "pk")
    )
    return Roster(
        group, list(rows.values()), held, waitlist, sessions, present, alerts, flags, refused, safety,
        group_outcomes(group=group, members=confirmed, open_safety={a.reservation_id for a in safety}),
        reviews, care,
    )  # fmt: skip


TIME_POINTS = ("baseline", "midpoint", "end")


def group_outcomes(*, group: Group, members: list[Reservation], open_safety: set[int]) -> list[OutcomeRow]:
    """Each confirmed member's PHQ-9 and GAD-7 totals and bands at each time point asked."""
    surveys = list(OutcomeSurvey.objects.filter(reservation__in=members).order_by("opens_at"))
    maxima = {
        m.code: m.items.count() * max(o["value"] for o in m.options)
        for m in Measure.objects.filter(active=True).prefetch_related("items")
    }
    responses = MeasureResponse.objects.filter(survey__in=surveys).select_related("measure")
    by_survey: dict[int, dict[str, MeasureResponse]] = {}
    for r in responses:
        by_survey.setdefault(r.survey_id, {})[r.measure.code] = r
    rows = []
    for member in members:
        mine = sorted(
            (s for s in surveys if s.reservation_id == member.pk),
            key=lambda s: TIME_POINTS.index(s.time_point),
        )
        scores: dict[str, list[tuple[str, int | None, str]]] = {}
        for survey in mine:
            for code, response in by_survey.get(survey.pk, {}).items():
                scores.setdefault(code, []).append((survey.time_point, response.total, response.band_label))
        unanswered = [s.time_point for s in mine if s.status != OutcomeSurvey.Status.ANSWERED]
        name = member.member.get_full_name() or f"Member #{member.member_id}"
        row = OutcomeRow(name, scores, unanswered, member.pk in open_safety)
        # Numbers only go into the drawing, so it is safe to put on the page as it is.
        row.charts = {code: mark_safe(row.chart(code, maximum)) for code, maximum in maxima.items()}  # noqa: S308
        rows.append(row)
    return rows


ROSTER_COLUMNS = ["name", "email", "state", "time zone", "joined on", "agreement", "texts", "attendance rate"]


def roster_csv(roster: Roster) -> str:
    """The roster's columns as CSV, one member a row, with attendance per session after them."""
    return csv_text(
        ROSTER_COLUMNS + [f"week {s.number}" for s in roster.sessions],
        (
            [
                row.name,
                row.email,
                row.state,
                row.time_zone,
                row.joined_on,
                row.agreement,
                row.texts,
                row.attendance_rate,
            ]
            + [row.by_session.get(s.pk, "") for s in roster.sessions]
            for row in roster.members
        ),
    )
