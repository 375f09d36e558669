"""Billing's pages: paying for a held seat, and the Stripe webhook (the only trusted proof
of payment)."""

import logging

import stripe
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from billing.documents import receipt_pdf
from billing.gateway import MalformedEvent, webhook_event_verify
from billing.models import AssistanceRequest, FeeTier
from billing.pricing import (
    assistance_request,
    codes_offered,
    price_choose,
    promo_apply,
    promo_remove,
    reservation_price,
    tiers_open_to,
)
from billing.providers import payment_provider_for
from billing.receipts import clinic, member_receipt, member_receipts
from billing.services import offline_payment_complete
from billing.webhooks import stripe_event_process, webhook_reject
from enrollment.errors import AttestationRequired, HoldExpired, NotEligible, ReviewPending
from enrollment.models import Reservation
from enrollment.ports import PaymentUnavailable
from enrollment.selectors import member_reservations
from enrollment.services.reservations import reservation_check_payable
from grouport.access import Access, route_access
from grouport.exceptions import DomainError, InvalidInput

logger = logging.getLogger(__name__)


@route_access(Access.MEMBER)
@login_required
def pay(request: HttpRequest, pk: int) -> HttpResponse:
    """Pay for a held seat: Stripe's hosted page, or the offline test-mode button."""
    # Another member's reservation does not exist, as far as this member can tell.
    reservation = get_object_or_404(member_reservations(member=request.user), pk=pk)
    provider = payment_provider_for(reservation)
    try:
        reservation_check_payable(reservation=reservation, member=request.user)
    except (HoldExpired, AttestationRequired, NotEligible, ReviewPending):
        # The reservation page says why (the hold ran out, the review is not done yet, or the
        # member may not join now).
        return redirect("enrollment:reservation", pk=reservation.pk)
    price = reservation_price(reservation)
    move = reservation.moved_from_id is not None  # the difference between two groups' fees
    tiers = [] if move else tiers_open_to(member=request.user, group=reservation.group)
    choosing = not move and (bool(tiers) or codes_offered())
    if not provider.test_mode and (request.GET.get("go") == "1" or not choosing):
        # Stripe's hosted page takes the card: no card data ever reaches this server.
        try:
            if request.GET.get("unavailable") == "1":
                # Sent here by a reservation whose payment service did not answer a moment
                # ago: say so now; "Try again" asks it again.
                raise PaymentUnavailable()
            return redirect(provider.begin(reservation=reservation, eligibility_asked=True).url)
        except PaymentUnavailable:
            reservation.refresh_from_db()
            return render(
                request,
                "billing/payment_unavailable.html",
                {"reservation": reservation, "group": reservation.group, "member_tz": request.user.zone},
                status=503,
            )
    if request.method == "POST" and provider.test_mode:
        offline_payment_complete(reservation=reservation, member=request.user, eligibility_asked=True)
        reservation.refresh_from_db()
        if reservation.status == Reservation.Status.CONFIRMED:
            messages.success(request, _("Payment received."))
        else:
            messages.warning(request, _("We could not give you this seat; your payment is refunded in full."))
        return redirect("enrollment:reservation", pk=reservation.pk)
    return _pay_page(request, reservation, provider, price, tiers)


def _pay_page(
    request, reservation, provider, price, tiers, *, error: str = "", status: int = 200
) -> HttpResponse:
    group = reservation.group
    assisted = next((t for t in FeeTier.objects.filter(group=group, kind=FeeTier.Kind.ASSISTED)), None)
    asked = AssistanceRequest.objects.filter(member=request.user, group=group).first()
    return render(
        request,
        "billing/pay.html",
        {
            "reservation": reservation,
            "group": group,
            "provider": provider,
            "price": price,
            "tiers": tiers,
            "codes": reservation.moved_from_id is None and (codes_offered() or price.promo is not None),
            "assistance_offered": assisted is not None and not any(t.kind == assisted.kind for t in tiers),
            "assistance": asked,
            "error": error,
            "member_tz": request.user.zone,
            "refund_hours": settings.REFUND_FULL_BEFORE_HOURS,
        },
        status=status,
    )


@route_access(Access.MEMBER)
@login_required
@require_POST
def price(request: HttpRequest, pk: int) -> HttpResponse:
    """The pay page's choices (POST): a fee tier (with the member's word), a promotion code
    applied or removed. A refusal is shown on the pay page (400) and changes nothing."""
    reservation = get_object_or_404(member_reservations(member=request.user), pk=pk)
    action = request.POST.get("action", "")
    try:
        if action == "tier":
            price_choose(
                reservation=reservation,
                member=request.user,
                tier=request.POST.get("tier", ""),
                attested=request.POST.get("attest") == "yes",
            )
        elif action == "code":
            promo_apply(reservation=reservation, member=request.user, code=request.POST.get("code", ""))
        elif action == "remove_code":
            promo_remove(reservation=reservation, member=request.user)
        else:
            raise InvalidInput(_("Choose a fee or type a code."), code="invalid_action")
    except DomainError as error:
        reservation.refresh_from_db()
        if reservation.status != Reservation.Status.HELD:
            # Paid, lapsed or cancelled: nothing to choose any more; the seat's page says where it stands.
            messages.error(request, error.detail)
            return redirect("enrollment:reservation", pk=reservation.pk)
        return _pay_page(
            request,
            reservation,
            payment_provider_for(reservation),
            reservation_price(reservation),
            tiers_open_to(member=request.user, group=reservation.group),
            error=str(error.detail),
            status=error.status_code,
        )
    return redirect("billing:pay", pk=reservation.pk)


@route_access(Access.MEMBER)
@login_required
def assistance(request: HttpRequest, pk: int) -> HttpResponse:
    """Ask for financial assistance in a held seat's group: household size and income band
    only. Staff answer in the admin; the member is emailed."""
    reservation = get_object_or_404(member_reservations(member=request.user), pk=pk)
    context = {
        "reservation": reservation,
        "group": reservation.group,
        "incomes": AssistanceRequest.Income.choices,
    }
    if request.method == "POST":
        try:
            size = int(request.POST.get("household_size", "0") or 0)
        except ValueError:
            size = 0
        try:
            assistance_request(
                member=request.user,
                group=reservation.group,
                household_size=size,
                income=request.POST.get("income", ""),
            )
        except DomainError as error:
            context["error"] = str(error.detail)
            return render(request, "billing/assistance.html", context, status=error.status_code)
        messages.success(
            request,
            _("Your request is sent. We will email you the answer, usually within two business days."),
        )
        return redirect("billing:pay", pk=reservation.pk)
    return render(request, "billing/assistance.html", context)


@route_access(Access.WEBHOOK)
@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    try:
        event = webhook_event_verify(payload=request.body, signature=request.headers.get("Stripe-Signature"))
    except stripe.SignatureVerificationError as exc:
        logger.warning("stripe webhook refused: %s", type(exc).__name__)
        return JsonResponse({"code": "invalid_signature", "detail": "Signature check failed."}, status=400)
    except MalformedEvent as exc:
        return _malformed(None, exc)
    try:
        handled = stripe_event_process(event=event)
    except MalformedEvent as exc:
        return _malformed(event, exc)
    except Exception:
        # Everything the event changed has rolled back; Stripe will deliver it again.
        logger.exception("stripe event %s failed", event.get("id"))
        return JsonResponse({"code": "retry", "detail": "Could not handle the event now."}, status=500)
    return JsonResponse({"received": True, "duplicate": not handled})


def _malformed(event: dict | None, exc: Exception) -> JsonResponse:
    # Signed, so it is Stripe's, but unreadable: a retry would fail the same way forever.
    webhook_reject(event=event, reason=str(exc))
    return JsonResponse({"code": "malformed_event", "detail": "The event could not be read."}, status=400)


@route_access(Access.MEMBER)
@login_required
def receipts(request: HttpRequest) -> HttpResponse:
    """Every receipt of the member's: payments that went through, refunds that came back."""
    return render(request, "billing/receipts.html", {"receipts": member_receipts(request.user)})


def _receipt_or_404(request: HttpRequest, kind: str, pk: int):
    # Another member's receipt does not exist, as far as this member can tell.
    found = member_receipt(request.user, kind, pk)
    if found is None:
        raise Http404("No such receipt.")
    return found


@route_access(Access.MEMBER)
@login_required
def receipt(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    found = _receipt_or_404(request, kind, pk)
    return render(request, "billing/receipt.html", {"receipt": found, "clinic": clinic()})


@route_access(Access.MEMBER)
@login_required
def receipt_pdf_file(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    found = _receipt_or_404(request, kind, pk)
    response = HttpResponse(receipt_pdf(found, clinic()), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="receipt-{found.number}.pdf"'
    return response
