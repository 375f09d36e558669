"""The clinic's outcomes: how many members reliably improved, responded or got worse on PHQ-9
and GAD-7 from the start of their program to its end, and how many did not answer.

Every percentage has its n beside it and members who did not answer are counted, never
dropped: this is the figure the site may quote, computed from the answers, never typed.
Each measure carries its own reliable-change threshold (``Measure.reliable_change``, set by
the clinic in the admin); the categories are ``care.measures`` (``change_category``,
``responded``). A measure without one counts nobody as improved or worse, and the page
says none is set.
"""

import datetime as dt
from collections import defaultdict

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from care.measures import change_category, responded
from care.models import Measure, MeasureResponse, OutcomeSurvey
from enrollment.models import Reservation
from reports.reports import ReportFilters, Table, _groups

COLUMNS = [
    "program", "measure", "members asked", "answered start and end", "improved reliably", "improved %",
    "responded (score halved)", "responded %", "got worse", "worse %", "no reliable change", "did not answer",
    "did not answer %", "still in the program (not counted)",
]  # fmt: skip


def _pct(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def report_outcomes(f: ReportFilters, *, now: dt.datetime | None = None) -> Table:
    """Per program and over all, for each measure: members asked, pairs (start and end),
    improved, responded, worse, unchanged, not answered; and, apart, members whose end
    questions are not due or still open (not counted yet: they have not missed anything)."""
    now = now or timezone.now()
    groups = _groups(f).filter(Q(starts_on__lte=f.date_to) & Q(ends_on__gte=f.date_from))
    surveys = OutcomeSurvey.objects.filter(reservation__group__in=groups)
    if f.state:
        surveys = surveys.filter(reservation__residence_state=f.state)
    asked: dict[int, set[int]] = defaultdict(set)  # group → reservations asked, end settled
    pending: dict[int, set[int]] = defaultdict(set)  # group → reservations still in the program
    titles: dict[int, str] = {}
    end_settled = set(
        surveys.filter(time_point=OutcomeSurvey.TimePoint.END)
        .filter(Q(status=OutcomeSurvey.Status.ANSWERED) | Q(closes_at__lte=now))
        .values_list("reservation_id", flat=True)
    )
    program_over = now - dt.timedelta(days=settings.OUTCOME_OPEN_DAYS)
    for reservation_id, group_id, title, last_session_at, status, end_reason in surveys.values_list(
        "reservation_id",
        "reservation__group_id",
        "reservation__group__title",
        "reservation__group__last_session_at",
        "reservation__status",
        "reservation__end_reason",
    ):
        titles[group_id] = title
        if end_reason == Reservation.EndReason.MOVED:
            continue  # they go on in another group, and are counted there
        left = status == Reservation.Status.CANCELLED  # a seat that ended: no end answers to come
        if left or reservation_id in end_settled or (last_session_at and last_session_at <= program_over):
            asked[group_id].add(reservation_id)
        else:
            pending[group_id].add(reservation_id)
    for group_id, reservations in asked.items():
        pending[group_id] -= reservations
    totals: dict[tuple[int, str, str], int] = {}  # (reservation, measure, time point) → total
    group_of: dict[int, int] = {}
    for reservation_id, group_id, code, point, total in MeasureResponse.objects.filter(
        survey__in=surveys, survey__time_point__in=("baseline", "end")
    ).values_list(
        "survey__reservation_id",
        "survey__reservation__group_id",
        "measure__code",
        "survey__time_point",
        "total",
    ):
        totals[(reservation_id, code, point)] = total
        group_of[reservation_id] = group_id
    table = Table("outcomes", "Outcomes: start of program to end", COLUMNS)
    thresholds = reliable_change_thresholds()
    codes = list(thresholds)
    overall: dict[str, list[int]] = {code: [0] * 8 for code in codes}
    for group_id in sorted(titles, key=lambda g: titles[g]):
        for code in codes:
            counts = [*_counts(asked[group_id], code, totals, thresholds[code]), len(pending[group_id])]
            table.rows.append(_row(titles[group_id], code, counts))
            overall[code] = [a + b for a, b in zip(overall[code], counts, strict=True)]
    for code in codes:
        table.rows.append(_row("All programs", code, overall[code]))
    return table


def reliable_change_thresholds() -> dict[str, int | None]:
    """Each active measure's code and its reliable-change threshold (its newest version's),
    in the order a questionnaire asks them."""
    thresholds: dict[str, int | None] = {}
    for code, points in (
        Measure.objects.filter(active=True)
        .order_by("position", "code", "-version")
        .values_list("code", "reliable_change")
    ):
        thresholds.setdefault(code, points)
    return thresholds


def _counts(reservations: set[int], code: str, totals: dict, threshold: int | None) -> list[int]:
    pairs = improved = halved = worse = unchanged = 0
    for reservation_id in reservations:
        start, end = totals.get((reservation_id, code, "baseline")), totals.get((reservation_id, code, "end"))
        if start is None or end is None:
            continue
        pairs += 1
        category = (
            change_category(baseline=start, end=end, reliable_change=threshold) if threshold else "unchanged"
        )
        improved += category == "improved"
        worse += category == "worse"
        unchanged += category == "unchanged"
        halved += responded(baseline=start, end=end)
    return [len(reservations), pairs, improved, halved, worse, unchanged, len(reservations) - pairs]


def _row(title: str, code: str, c: list[int]) -> list:
    members, pairs, improved, halved, worse, unchanged, missing, still = c
    return [
        title, code, members, pairs, improved, _pct(improved, pairs), halved, _pct(halved, pairs), worse,
        _pct(worse, pairs), unchanged, missing, _pct(missing, members), still,
    ]  # fmt: skip
