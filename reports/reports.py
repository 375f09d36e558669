"""Staff enrollment reports: every figure aggregated in the database, a fixed number of
queries whatever the size of the data (see bench/reports.py).
"""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import TruncWeek

from attendance.models import Attendance
from billing.models import Payment, Refund
from enrollment.models import Reservation, WaitlistEntry
from groups.models import Group, GroupSession

PAGE_ROWS = 50  # rows shown on the page; the CSV has them all


@dataclass(frozen=True)
class ReportFilters:
    date_from: dt.date
    date_to: dt.date  # inclusive
    therapist_id: int | None = None
    kind: str | None = None
    state: str | None = None

    @property
    def start(self) -> dt.datetime:
        return dt.datetime.combine(self.date_from, dt.time.min, tzinfo=dt.UTC)

    @property
    def end(self) -> dt.datetime:
        return dt.datetime.combine(self.date_to + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC)


@dataclass
class Table:
    key: str
    title: str
    columns: list[str]
    rows: list[list] = field(default_factory=list)


def _groups(f: ReportFilters) -> QuerySet[Group]:
    groups = Group.objects.exclude(status=Group.Status.DRAFT)
    if f.therapist_id:
        groups = groups.filter(therapist_id=f.therapist_id)
    if f.kind:
        groups = groups.filter(kind=f.kind)
    return groups


def _reservations(f: ReportFilters) -> QuerySet[Reservation]:
    reservations = Reservation.objects.filter(group__in=_groups(f))
    if f.state:
        reservations = reservations.filter(residence_state=f.state)
    return reservations


def _count_by_group(queryset: QuerySet) -> dict[int, int]:
    return dict(queryset.order_by().values("group_id").annotate(n=Count("pk")).values_list("group_id", "n"))


def _pct(part: int | float, whole: int | float) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def report_by_group(f: ReportFilters) -> Table:
    """Per group: seats, confirmed now, fill rate, enrollments, expired holds, cancellations, waitlist."""
    groups = list(
        _groups(f)
        .select_related("therapist")
        .only("title", "kind", "capacity", "therapist__display_name")
        .order_by("starts_on", "pk")
    )
    reservations = _reservations(f)
    confirmed = _count_by_group(reservations.filter(status=Reservation.Status.CONFIRMED))
    enrolled = _count_by_group(reservations.filter(confirmed_at__gte=f.start, confirmed_at__lt=f.end))
    expired = _count_by_group(
        reservations.filter(status=Reservation.Status.EXPIRED, expires_at__gte=f.start, expires_at__lt=f.end)
    )
    cancelled = _count_by_group(
        reservations.filter(
            status=Reservation.Status.CANCELLED, cancelled_at__gte=f.start, cancelled_at__lt=f.end
        )
    )
    waiting = _count_by_group(
        WaitlistEntry.objects.filter(group__in=_groups(f), status=WaitlistEntry.Status.WAITING)
    )
    table = Table(
        "groups",
        "Enrollment by group",
        ["group", "therapist", "kind", "seats", "confirmed", "fill rate %", "enrolled in range",
         "holds expired", "cancelled", "waitlist"],
    )  # fmt: skip
    for g in groups:
        table.rows.append(
            [g.title, g.therapist.display_name, g.kind, g.capacity, confirmed.get(g.pk, 0),
             _pct(confirmed.get(g.pk, 0), g.capacity), enrolled.get(g.pk, 0), expired.get(g.pk, 0),
             cancelled.get(g.pk, 0), waiting.get(g.pk, 0)]
        )  # fmt: skip
    return table


def report_by_week(f: ReportFilters) -> Table:
    """Enrollments (seats confirmed), holds expired and cancellations per week."""
    reservations = _reservations(f)

    def weekly(queryset, column):
        return dict(
            queryset.filter(**{f"{column}__gte": f.start, f"{column}__lt": f.end})
            .order_by()
            .annotate(week=TruncWeek(column))
            .values("week")
            .annotate(n=Count("pk"))
            .values_list("week", "n")
        )

    enrolled = weekly(reservations.exclude(confirmed_at=None), "confirmed_at")
    cancelled = weekly(reservations.filter(status=Reservation.Status.CANCELLED), "cancelled_at")
    weeks = sorted({*(w.date() for w in enrolled), *(w.date() for w in cancelled)})
    enrolled = {w.date(): n for w, n in enrolled.items()}
    cancelled = {w.date(): n for w, n in cancelled.items()}
    table = Table("weeks", "Enrollments by week", ["week of", "enrolled", "cancelled"])
    table.rows = [[w.isoformat(), enrolled.get(w, 0), cancelled.get(w, 0)] for w in weeks]
    return table


def report_by_state(f: ReportFilters) -> Table:
    """Members with a confirmed seat, by the state they live in."""
    rows = (
        _reservations(f)
        .filter(status=Reservation.Status.CONFIRMED)
        .order_by()
        .values("residence_state")
        .annotate(members=Count("member_id", distinct=True))
        .order_by("-members", "residence_state")
        .values_list("residence_state", "members")
    )
    return Table("states", "Members by state of residence", ["state", "members"], [list(r) for r in rows])


def report_revenue(f: ReportFilters) -> Table:
    """Money paid and refunded in the range, and the net; the paid seats' list price and the
    discounts off it (fee tiers and promotion codes) apart from the money received."""
    reservations = _reservations(f)
    paid = Payment.objects.filter(
        reservation__in=reservations, status=Payment.Status.PAID, paid_at__gte=f.start, paid_at__lt=f.end
    ).aggregate(total=Sum("amount"), listed=Sum("list_amount"), discounts=Sum("discount"), n=Count("pk"))
    refunded = Refund.objects.filter(
        payment__reservation__in=reservations,
        status=Refund.Status.SUCCEEDED,
        created_at__gte=f.start,
        created_at__lt=f.end,
    ).aggregate(total=Sum("amount"), n=Count("pk"))
    paid_total = Decimal(paid["total"] or 0).quantize(Decimal("0.01"))
    refunded_total = Decimal(refunded["total"] or 0).quantize(Decimal("0.01"))
    listed = Decimal(paid["listed"] or 0).quantize(Decimal("0.01"))
    discounts = Decimal(paid["discounts"] or 0).quantize(Decimal("0.01"))
    return Table(
        "revenue",
        "Revenue",
        ["payments", "paid", "refunds", "refunded", "net", "list price", "discounts"],
        [
            [
                paid["n"],
                paid_total,
                refunded["n"],
                refunded_total,
                paid_total - refunded_total,
                listed,
                discounts,
            ]
        ],
    )


def _attendance_counts(f: ReportFilters) -> list[dict]:
    """Marked and present per session in the range, one dict per session with marks.

    Counted on the attendance table alone, grouped by session id, and only then joined to
    the sessions (joining 500,000 marks to three tables first took 0.7 s; bench/reports.py).
    A mark's reservation is always in the session's own group (attendance_mark allows
    nothing else), so the group filters apply to the session; only the state filter needs
    the reservation.

    A mark of a seat cancelled before its session began is not counted: only "I can't make
    it" can come before a session, and a member who then left was not in the group that day.
    """
    sessions = GroupSession.objects.filter(group__in=_groups(f), starts_at__gte=f.start, starts_at__lt=f.end)
    marks = Attendance.objects.filter(session__in=sessions).exclude(
        reservation__cancelled_at__lt=F("session__starts_at")
    )
    if f.state:
        marks = marks.filter(reservation__residence_state=f.state)
    counts = {
        session_id: (marked, present)
        for session_id, marked, present in marks.order_by()
        .values("session_id")
        .annotate(marked=Count("pk"), present=Count("pk", filter=Q(status=Attendance.Status.PRESENT)))
        .values_list("session_id", "marked", "present")
    }
    rows = []
    for s in sessions.order_by().values("pk", "group_id", "number", "starts_at", "group__time_zone"):
        if s["pk"] in counts:
            marked, present = counts[s["pk"]]
            rows.append(
                {"session_id": s["pk"], "session__group_id": s["group_id"], "session__number": s["number"],
                 "session__starts_at": s["starts_at"], "session__group__time_zone": s["group__time_zone"],
                 "marked": marked, "present": present}
            )  # fmt: skip
    return rows


def report_attendance(f: ReportFilters, counts=None) -> Table:
    """Attendance rate per session (present of those marked)."""
    counts = list(_attendance_counts(f) if counts is None else counts)
    titles = dict(
        _groups(f).filter(pk__in={c["session__group_id"] for c in counts}).values_list("pk", "title")
    )
    table = Table(
        "attendance", "Attendance by session", ["group", "week", "date", "present", "marked", "rate %"]
    )
    for c in sorted(counts, key=lambda c: (c["session__starts_at"], c["session_id"])):
        # The session's date on its own group's clock (7 pm Eastern is already tomorrow in UTC).
        day = f"{c['session__starts_at'].astimezone(ZoneInfo(c['session__group__time_zone'])):%Y-%m-%d}"
        table.rows.append(
            [titles.get(c["session__group_id"], ""), c["session__number"], day,
             c["present"], c["marked"], _pct(c["present"], c["marked"])]
        )  # fmt: skip
    return table


def report_retention(f: ReportFilters, counts=None, by_group: Table | None = None) -> Table:
    """Week-by-week retention of each cohort: members present in week n, of those confirmed."""
    counts = list(_attendance_counts(f) if counts is None else counts)
    confirmed = _count_by_group(
        _reservations(f).exclude(confirmed_at=None).exclude(status=Reservation.Status.HELD)
    )
    present: dict[int, dict[int, int]] = defaultdict(dict)
    for c in counts:
        present[c["session__group_id"]][c["session__number"]] = c["present"]
    weeks = max((n for per in present.values() for n in per), default=0)
    titles = dict(_groups(f).filter(pk__in=present).values_list("pk", "title"))
    table = Table(
        "retention",
        "Retention by cohort",
        ["group", "cohort size", *[f"week {n}" for n in range(1, weeks + 1)]],
    )
    for group_id in sorted(present, key=lambda g: titles.get(g, "")):
        size = confirmed.get(group_id, 0)
        table.rows.append(
            [
                titles.get(group_id, ""),
                size,
                *[_pct(present[group_id].get(n, 0), size) for n in range(1, weeks + 1)],
            ]
        )
    return table


def reports_all(f: ReportFilters) -> dict[str, Table]:
    counts = list(_attendance_counts(f))
    return {
        "groups": report_by_group(f),
        "weeks": report_by_week(f),
        "states": report_by_state(f),
        "revenue": report_revenue(f),
        "attendance": report_attendance(f, counts),
        "retention": report_retention(f, counts),
    }


REPORTS = {
    "groups": report_by_group,
    "weeks": report_by_week,
    "states": report_by_state,
    "revenue": report_revenue,
    "attendance": report_attendance,
    "retention": report_retention,
}
