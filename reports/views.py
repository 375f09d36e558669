"""``/reports/``: staff's enrollment reports, with charts and a CSV for every table."""

import datetime as dt
from collections import defaultdict

from django import forms
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from grouport.access import Access, route_access
from grouport.audit import audit_record
from grouport.exports import csv_text
from grouport.roles import is_operations
from grouport.states import STATE_CHOICES
from groups.models import Group, Therapist
from reports.charts import column_chart, hbar_chart, line_chart
from reports.outcomes import reliable_change_thresholds, report_outcomes
from reports.reports import PAGE_ROWS, REPORTS, ReportFilters, Table, reports_all

CSV_REPORTS = {**REPORTS, "outcomes": report_outcomes}

# Reports cover what the platform can hold: far dates would overflow a datetime, and a
# century of weekly rows helps no one.
EARLIEST, LATEST = dt.date(2000, 1, 1), dt.date(2100, 12, 31)
MAX_SPAN_DAYS = 3660


class ReportFilterForm(forms.Form):
    date_from = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    therapist = forms.ModelChoiceField(queryset=Therapist.objects.order_by("display_name"), required=False)
    kind = forms.ChoiceField(choices=[("", "All kinds"), *Group.Kind.choices], required=False)
    state = forms.ChoiceField(choices=[("", "All states"), *STATE_CHOICES], required=False)

    def clean(self):
        data = super().clean()
        for key in ("date_from", "date_to"):
            day = data.get(key)
            if day and not (EARLIEST <= day <= LATEST):
                raise forms.ValidationError(
                    f"Pick dates between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d}.", code="out_of_range"
                )
        if data.get("date_from") and data.get("date_to"):
            if data["date_from"] > data["date_to"]:
                raise forms.ValidationError("The start date must not be after the end date.")
            if (data["date_to"] - data["date_from"]).days > MAX_SPAN_DAYS:
                raise forms.ValidationError("Pick at most ten years at a time.", code="too_long")
        return data

    def filters(self) -> ReportFilters:
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        today = timezone.localdate()
        therapist = data.get("therapist")
        return ReportFilters(
            date_from=data.get("date_from") or today - dt.timedelta(weeks=12),
            date_to=data.get("date_to") or today + dt.timedelta(weeks=12),
            therapist_id=therapist.pk if therapist else None,
            kind=data.get("kind") or None,
            state=data.get("state") or None,
        )


def _staff_only(request: HttpRequest) -> HttpResponse | None:
    """Send a visitor who is not signed in to the sign-in; refuse anyone who is not staff."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not is_operations(request.user):
        raise PermissionDenied
    return None


def _charts(tables: dict[str, Table]) -> dict[str, str]:
    groups = tables["groups"]
    by_fill = sorted(groups.rows, key=lambda r: -(r[5] or 0))[:20]
    retention = tables["retention"]
    average: list[tuple[str, float | None]] = []
    columns = defaultdict(list)
    for row in retention.rows:
        for n, value in enumerate(row[2:], start=1):
            if value is not None and row[1]:
                columns[n].append(value)
    for n in sorted(columns):
        average.append((f"W{n}", round(sum(columns[n]) / len(columns[n]), 1)))
    return {
        "fill": hbar_chart("Fill rate by group (top 20)", [(r[0], r[5]) for r in by_fill]),
        "weeks": column_chart("Enrollments per week", [(r[0], r[1]) for r in tables["weeks"].rows]),
        "retention": line_chart("Average retention by week of the program", average),
    }


@route_access(Access.STAFF)
def reports(request: HttpRequest) -> HttpResponse:
    if (sign_in := _staff_only(request)) is not None:
        return sign_in
    form = ReportFilterForm(request.GET or None)
    filters = form.filters()
    tables = reports_all(filters)
    audit_record(
        actor=request.user, action="report.viewed", obj=request.user, data={"report": "all"}, request=request
    )
    shown = {key: Table(t.key, t.title, t.columns, t.rows[:PAGE_ROWS]) for key, t in tables.items()}
    return render(
        request,
        "reports/index.html",
        {
            "form": form,
            "filters": filters,
            "tables": shown,
            "totals": {key: len(t.rows) for key, t in tables.items()},
            "charts": _charts(tables),
            "query": request.GET.urlencode(),
            "page_rows": PAGE_ROWS,
        },
    )


@route_access(Access.STAFF)
def report_csv(request: HttpRequest, report: str) -> HttpResponse:
    if (sign_in := _staff_only(request)) is not None:
        return sign_in
    if report not in CSV_REPORTS:
        raise Http404
    form = ReportFilterForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        # A file with other dates than asked for would mislead: say what is wrong instead.
        errors = "; ".join(str(e) for field_errors in form.errors.values() for e in field_errors)
        return HttpResponse(errors, status=400, content_type="text/plain; charset=utf-8")
    table = CSV_REPORTS[report](form.filters())
    audit_record(
        actor=request.user,
        action="report.exported",
        obj=request.user,
        data={"report": report},
        request=request,
    )
    # Group titles and therapists' names are typed by people: formula-safe like the roster.
    response = HttpResponse(csv_text(table.columns, table.rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="report-{report}.csv"'
    return response


@route_access(Access.STAFF)
def outcomes(request: HttpRequest) -> HttpResponse:
    """PHQ-9 and GAD-7 from the start of each program to its end: improved, responded, worse,
    not answered, with the n beside every percentage (staff only; audited)."""
    if (sign_in := _staff_only(request)) is not None:
        return sign_in
    form = ReportFilterForm(request.GET or None)
    filters = form.filters()
    table = report_outcomes(filters)
    audit_record(
        actor=request.user,
        action="report.viewed",
        obj=request.user,
        data={"report": "outcomes"},
        request=request,
    )
    overall = [row for row in table.rows if row[0] == "All programs"]
    chart = hbar_chart(
        "Improved reliably, start to end (% of members who answered both)",
        [(f"{row[1]} (n={row[3]})", row[5]) for row in overall],
    )
    return render(
        request,
        "reports/outcomes.html",
        {"form": form, "filters": filters, "table": table, "chart": chart, "query": request.GET.urlencode(),
         "thresholds": reliable_change_thresholds()},
    )  # fmt: skip
