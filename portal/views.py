"""Pages that put the parts together for a member: "My groups" (their seats, the sessions to
come with their join links, questionnaires due, the waitlist)."""

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from attendance.views import next_sessions_for
from care.links import survey_path
from care.models import OutcomeSurvey, SuperbillRequest
from care.services import superbill_request
from enrollment.models import Reservation, WaitlistEntry
from enrollment.selectors import (
    member_open_alerts,
    member_reservations,
    member_upcoming_sessions,
    member_waitlist,
    reservations_listed,
    waitlist_listed,
    waitlist_position,
)
from enrollment.services.reservations import reservation_next_action
from grouport.access import Access, route_access
from grouport.exceptions import DomainError
from grouport.states import time_zone_name
from groups.models import Group
from portal.superbills import superbill_of, superbill_pdf


@route_access(Access.MEMBER)
@login_required
def my_groups(request: HttpRequest) -> HttpResponse:
    member = request.user
    now = timezone.now()
    reservations = list(
        reservations_listed(member_reservations(member=member), now=now).order_by("-created_at")
    )
    sessions = list(member_upcoming_sessions(member=member, now=now))
    by_group: dict[int, list] = {}
    for session in sessions:
        by_group.setdefault(session.group_id, []).append(session)
    confirmed = [r for r in reservations if r.status == Reservation.Status.CONFIRMED]
    held = [r for r in reservations if r.status_at(now) in Reservation.HOLDS]
    # Holds that ran out in the last week, marked by the job yet or not: said plainly, with
    # the way forward, rather than vanishing from the page.
    ran_out = [
        r
        for r in reservations
        if r.status_at(now) == Reservation.Status.EXPIRED
        and r.expires_at is not None
        and r.expires_at > now - dt.timedelta(days=7)
        and not any(c.group_id == r.group_id for c in confirmed)
    ]
    entries = [
        (entry, waitlist_position(entry=entry))
        for entry in waitlist_listed(member_waitlist(member=member), now=now).filter(
            status__in=WaitlistEntry.ACTIVE
        )
    ]
    flagged = member_open_alerts(member=member)
    upcoming = next_sessions_for(reservations=confirmed, sessions=sessions, now=now)
    questions = [
        (s, survey_path(s.pk))
        for s in OutcomeSurvey.objects.filter(
            reservation__member=member,
            reservation__status=Reservation.Status.CONFIRMED,
            status=OutcomeSurvey.Status.OPEN,
            opens_at__lte=now,
            closes_at__gt=now,
        )
        .select_related("reservation__group")
        .order_by("opens_at")
    ]
    # Their own answers so far, one link per seat (the results page shows every time point).
    answered = dict(
        OutcomeSurvey.objects.filter(reservation__in=confirmed, status=OutcomeSurvey.Status.ANSWERED)
        .order_by("answered_at")
        .values_list("reservation_id", "pk")
    )
    for r in confirmed:
        r.results_path = survey_path(answered[r.pk]) + "results/" if r.pk in answered else ""
    return render(
        request,
        "portal/my_groups.html",
        {
            "confirmed": [
                (r, by_group.get(r.group_id, []), r.pk in flagged, upcoming.get(r.pk)) for r in confirmed
            ],
            "held": [(r, reservation_next_action(reservation=r, now=now)) for r in held],
            "ran_out": [(r, reservation_next_action(reservation=r, now=now)) for r in ran_out[:5]],
            "entries": entries,
            "questions": questions,
            "past": [
                r
                for r in reservations
                if r.status_at(now) in (Reservation.Status.CANCELLED, Reservation.Status.EXPIRED)
                and r not in ran_out
            ][:10],
            "member_tz": request.user.zone,
            "member_tz_name": time_zone_name(request.user.zone),
            "now": now,
        },
    )


def _own_therapy_seat(request: HttpRequest, reservation_id: int) -> Reservation:
    # Another member's seat does not exist, as far as this member can tell.
    return get_object_or_404(
        member_reservations(member=request.user).select_related("group__therapist", "member"),
        pk=reservation_id,
    )


@route_access(Access.MEMBER)
@login_required
def superbill(request: HttpRequest, reservation_id: int) -> HttpResponse:
    """A therapy seat's superbill: ask for it (POST); it is ready once the therapist gave the
    diagnosis code, and drawn from the attendance sheet each time it is opened."""
    reservation = _own_therapy_seat(request, reservation_id)
    if reservation.group.kind != Group.Kind.THERAPY:
        raise Http404("Superbills are for therapy groups.")
    if request.method == "POST":
        try:
            superbill_request(reservation=reservation, member=request.user)
        except DomainError as error:
            messages.error(request, error.detail)
        return redirect("portal:superbill", reservation_id=reservation.pk)
    asked = SuperbillRequest.objects.filter(reservation=reservation).first()
    bill = superbill_of(asked) if asked is not None and asked.diagnosis_code else None
    return render(
        request, "portal/superbill.html", {"reservation": reservation, "asked": asked, "bill": bill}
    )


@route_access(Access.MEMBER)
@login_required
def superbill_pdf_file(request: HttpRequest, reservation_id: int) -> HttpResponse:
    reservation = _own_therapy_seat(request, reservation_id)
    asked = SuperbillRequest.objects.filter(reservation=reservation).exclude(diagnosis_code="").first()
    if asked is None:
        raise Http404("No superbill yet.")
    bill = superbill_of(asked)
    response = HttpResponse(superbill_pdf(bill), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="superbill-{bill.number}.pdf"'
    return response
