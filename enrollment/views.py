"""Member pages: reserve a seat, "My groups", cancel, the waitlist, the profile.

The payment pages are billing's (``billing/views.py``); these reach money only through the
payment port.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from enrollment.errors import AttestationRequired
from enrollment.forms import AttestationForm
from enrollment.models import GroupAgreement, Reservation, WaitlistEntry
from enrollment.ports import payment_port
from enrollment.selectors import (
    agreement_current,
    member_open_alerts,
    member_reservations,
    member_waitlist,
)
from enrollment.services.eligibility import member_email_verified, seat_decision
from enrollment.services.reservations import (
    hold_length,
    refund_due_on_cancel,
    reservation_cancel,
    reservation_next_action,
    reservation_start,
    seat_needs_review,
)
from enrollment.services.waitlist import (
    waitlist_join,
    waitlist_leave,
    waitlist_offer_accept,
    waitlist_offer_decline,
)
from grouport.access import Access, route_access
from grouport.states import STATE_NAMES
from groups.eligibility import REASON_TEXT, Reason
from groups.models import Group
from groups.selectors import group_public, skills_alternatives
from intake.errors import AgeOutOfRange, ConsentRequired, IntakeRequired
from intake.services import intake_check_ready


def _own_reservation(request: HttpRequest, pk: int) -> Reservation:
    # Another member's reservation does not exist, as far as this member can tell.
    return get_object_or_404(member_reservations(member=request.user), pk=pk)


def _duty_of_care_step(request: HttpRequest, group: Group) -> dict:
    """What the member gives before a seat in ``group``: nothing more (``{}``), their intake,
    the consent, or, outside the group's ages, the kind word and the groups meant for them."""
    try:
        intake_check_ready(member=request.user, group=group)
    except IntakeRequired as error:
        missing = error.extra.get("missing", [])
        # The date of birth alone first: someone the group is not meant for is told so before
        # they give anything else (and a minor's contacts are never asked for nothing).
        age_first = "birth_date" in missing or group.kind == Group.Kind.SKILLS
        url = reverse("intake:intake") + ("?kind=skills&" if age_first else "?") + "next=" + request.path
        return {"step": "intake", "missing": missing, "age_first": age_first, "url": url}
    except ConsentRequired:
        return {"step": "consent", "url": reverse("intake:consent") + "?next=" + request.path}
    except AgeOutOfRange as error:
        return {"step": "age", "detail": error.detail, "alternatives": error.extra.get("alternatives", [])}
    return {}


def _duty_of_care_redirect(request: HttpRequest, error: IntakeRequired | ConsentRequired) -> HttpResponse:
    """A seat refused for want of intake or consent: go and give it, then come back."""
    if isinstance(error, IntakeRequired):
        age_first = "?kind=skills&" if "birth_date" in error.extra.get("missing", []) else "?"
        return redirect(reverse("intake:intake") + age_first + "next=" + request.path)
    return redirect(reverse("intake:consent") + "?next=" + request.path)


def _attestation_error(form: AttestationForm, error: AttestationRequired) -> None:
    if error.code == "agreement_updated":
        form.agreement_changed(version=agreement_current().version, message=error.detail)
    else:
        form.add_error(None, error.detail)


@route_access(Access.MEMBER)
@login_required
def reserve(request: HttpRequest, slug: str) -> HttpResponse:
    group = group_public().filter(slug=slug).first()
    if group is None:
        raise Http404("No such group.")
    member = request.user
    agreement = agreement_current()
    form = AttestationForm(
        request.POST or None,
        therapy=group.kind == Group.Kind.THERAPY,
        agreement_version=agreement.version,
        state_name=str(STATE_NAMES.get(member.state, "")),
    )
    if request.method == "POST" and form.is_valid():
        try:
            _reservation, action = reservation_start(
                member=member, group=group, attestations=form.attestations()
            )
        except AttestationRequired as error:
            # Still on the form, with the reason next to it (the agreement changed, say).
            _attestation_error(form, error)
        except (IntakeRequired, ConsentRequired) as error:
            return _duty_of_care_redirect(request, error)
        else:
            # The reservation page says "Your seat is confirmed" itself: no second banner. When
            # the payment service did not answer, the pay page says so without asking it again
            # (the member has waited once already).
            return redirect(f"{action.url}?unavailable=1" if action.unavailable else action.url)
    decision = seat_decision(state=member.state, group=group) if member.state else None
    # A hold that ran out is not "a seat you already have", even before the job marks it.
    existing = member_reservations(member=member).filter(group=group).taking_seats(timezone.now()).first()
    waiting = member_waitlist(member=member).filter(group=group, status__in=WaitlistEntry.ACTIVE).first()
    care = _duty_of_care_step(request, group) if decision and decision.eligible and not existing else {}
    return render(
        request,
        "enrollment/reserve.html",
        {
            "group": group,
            "form": form,
            "verified": member_email_verified(member),
            "decision": decision,
            "reasons": [REASON_TEXT[Reason(r)] for r in decision.reason_codes] if decision else [],
            "alternatives": skills_alternatives() if decision and not decision.eligible else [],
            "state_name": STATE_NAMES.get(member.state, ""),
            "existing": existing,
            "waiting": waiting,
            "full": group.seats_left <= 0,
            "refund_hours": settings.REFUND_FULL_BEFORE_HOURS,
            "hold_minutes": round(hold_length(group).total_seconds() / 60),
            "agreement": agreement,
            "agreement_text": agreement.body_in(get_language() or "en"),
            "next_reason": None,
            "care": care,
            "review": seat_needs_review(member=member, group=group) if not care else False,
            "review_days": settings.REVIEW_HOLD_DAYS,
        },
        status=400 if form.is_bound and form.errors else (403 if care.get("step") == "age" else 200),
    )


@route_access(Access.MEMBER)
@login_required
def reservation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    reservation = _own_reservation(request, pk)
    now = timezone.now()
    status = reservation.status_at(now)
    port = payment_port()
    # Back from Stripe: the redirect proves nothing; only the webhook confirms the seat.
    processing = status == Reservation.Status.HELD and (
        request.GET.get("checkout") == "success" or port.payment_processing(reservation=reservation)
    )
    decision = (
        seat_decision(state=request.user.state, group=reservation.group)
        if status == Reservation.Status.HELD
        else None
    )
    return render(
        request,
        "enrollment/reservation.html",
        {
            "reservation": reservation,
            "status": status,
            "group": reservation.group,
            "next_action": reservation_next_action(reservation=reservation, now=now, decision=decision)
            if decision is None or decision.eligible
            else None,
            "not_eligible": [REASON_TEXT[Reason(r)] for r in decision.reason_codes] if decision else [],
            "member_tz": request.user.zone,
            "now": now,
            "processing": processing,
            "paid": port.paid_amount(reservation=reservation),
            "flagged": reservation.pk in member_open_alerts(member=request.user),
            "profile_url": reverse("grouport:profile") + "?next=" + request.path,
        },
    )


@route_access(Access.MEMBER)
@login_required
def cancel(request: HttpRequest, pk: int) -> HttpResponse:
    reservation = _own_reservation(request, pk)
    if request.method == "POST":
        if reservation.is_active:
            refunded = reservation_cancel(reservation=reservation, actor=request.user).refunded
            messages.success(
                request,
                _("Your reservation is cancelled. $%(amount)s will be refunded.") % {"amount": refunded}
                if refunded
                else _("Your reservation is cancelled."),
            )
        return redirect("portal:my_groups")
    return render(
        request,
        "enrollment/cancel.html",
        {
            "reservation": reservation,
            "group": reservation.group,
            "refund_due": refund_due_on_cancel(reservation=reservation, now=timezone.now()),
            "paid": payment_port().paid_amount(reservation=reservation),
            "refund_hours": settings.REFUND_FULL_BEFORE_HOURS,
        },
    )


@route_access(Access.MEMBER)
@login_required
@require_POST
def waitlist_join_view(request: HttpRequest, slug: str) -> HttpResponse:
    group = group_public().filter(slug=slug).first()
    if group is None:
        raise Http404("No such group.")
    waitlist_join(member=request.user, group=group)
    messages.success(request, _("You are on the waitlist. We will email you if a seat opens."))
    return redirect("portal:my_groups")


@route_access(Access.MEMBER)
@login_required
@require_POST
def waitlist_leave_view(request: HttpRequest, pk: int) -> HttpResponse:
    entry = get_object_or_404(member_waitlist(member=request.user), pk=pk)
    waitlist_leave(entry=entry, actor=request.user)
    messages.success(request, _("You have left the waitlist."))
    return redirect("portal:my_groups")


@route_access(Access.MEMBER)
@login_required
def offer_accept(request: HttpRequest, pk: int) -> HttpResponse:
    entry = get_object_or_404(member_waitlist(member=request.user), pk=pk)
    if entry.status != WaitlistEntry.Status.OFFERED:
        messages.info(request, _("This offer is no longer open."))
        return redirect("portal:my_groups")
    agreement = agreement_current()
    form = AttestationForm(
        request.POST or None,
        therapy=entry.group.kind == Group.Kind.THERAPY,
        agreement_version=agreement.version,
        state_name=str(STATE_NAMES.get(request.user.state, "")),
    )
    if request.method == "POST" and form.is_valid():
        try:
            _reservation, action = waitlist_offer_accept(
                entry=entry, member=request.user, attestations=form.attestations()
            )
        except AttestationRequired as error:
            _attestation_error(form, error)
        except (IntakeRequired, ConsentRequired) as error:
            return _duty_of_care_redirect(request, error)
        else:
            return redirect(f"{action.url}?unavailable=1" if action.unavailable else action.url)
    return render(
        request,
        "enrollment/offer_accept.html",
        {
            "entry": entry,
            "group": entry.group,
            "form": form,
            "member_tz": request.user.zone,
            "agreement": agreement,
            "agreement_text": agreement.body_in(get_language() or "en"),
        },
        status=400 if form.is_bound and form.errors else 200,
    )


@route_access(Access.PUBLIC)
def agreement(request: HttpRequest, version: int | None = None) -> HttpResponse:
    """The group agreement: today's, or an earlier version by number (what someone accepted)."""
    agreements = GroupAgreement.objects.order_by("-version")
    shown = (agreements.filter(version=version) if version else agreements).first()
    if shown is None:
        raise Http404("No such version.")
    return render(
        request,
        "enrollment/agreement.html",
        {"agreement": shown, "text": shown.body_in(get_language() or "en"), "current": agreements.first()},
    )


@route_access(Access.MEMBER)
@login_required
@require_POST
def offer_decline(request: HttpRequest, pk: int) -> HttpResponse:
    entry = get_object_or_404(member_waitlist(member=request.user), pk=pk)
    waitlist_offer_decline(entry=entry, actor=request.user)
    messages.success(request, _("You declined the seat. It goes to the next person in line."))
    return redirect("portal:my_groups")
