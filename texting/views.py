"""Texting's routes: the member's own text reminders, and the provider's signed webhooks."""

import logging
import re

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import RequestValidator, get_signature_algorithm
from twilio.twiml.messaging_response import MessagingResponse

from grouport.access import Access, route_access
from grouport.exceptions import DomainError
from intake.phones import phone_display, phone_e164
from intake.selectors import member_intake
from texting import words
from texting.forms import TextsForm
from texting.models import TextSubscription
from texting.services import (
    inbound_refused,
    inbound_text,
    number_stopped,
    subscription_of,
    subscription_set,
    subscription_state,
    text_status_update,
)

logger = logging.getLogger(__name__)

MESSAGE_SID = re.compile(r"(SM|MM|SMS)[0-9a-fA-F]{32}")


@route_access(Access.MEMBER)
@login_required
def texts(request: HttpRequest) -> HttpResponse:
    """Text reminders: on only when the member ticks the box, with the carriers' words."""
    member = request.user
    subscription = subscription_of(member)
    intake = member_intake(member)
    phone = subscription.phone if subscription else (intake.phone if intake else "")
    form = TextsForm(
        request.POST or None,
        opt_in_words=words.opt_in_words(get_language()),
        initial={"phone": phone_display(phone)},
    )
    if request.method == "POST" and form.is_valid():
        try:
            subscription_set(
                member=member,
                receive=form.cleaned_data["receive"],
                phone=form.cleaned_data.get("phone") or "",
                language=get_language(),
                request=request,
            )
        except DomainError as error:
            form.add_error(None, str(error.detail))
        else:
            if form.cleaned_data["receive"]:
                messages.success(request, _("Text reminders are on. We have sent you a text to confirm."))
            else:
                messages.success(request, _("Text reminders are off. We will not text you."))
            return redirect("texting:texts")
    state = subscription_state(subscription)
    on = state == TextSubscription.Status.ON
    # Texts on: the number alone, to change it (or stop); the box was ticked already.
    number_form = TextsForm(request.POST or None, initial={"phone": phone_display(phone)})
    del number_form.fields["receive"]
    if on and form.is_bound:
        number_form.errors.update(form.errors)
    return render(
        request,
        "texting/texts.html",
        {
            "form": form,
            "number_form": number_form,
            "subscription": subscription,
            "on": on,
            "stopped": state == TextSubscription.Status.STOPPED or (bool(phone) and number_stopped(phone)),
            "phone": phone_display(phone),
            "from_number": phone_display(settings.TWILIO_FROM_NUMBER),
        },
        status=400 if form.is_bound and form.errors else 200,
    )


def _signed(request: HttpRequest) -> bool:
    """Twilio signs the URL it called and every POST parameter: with the account's auth token
    (HMAC-SHA1), or, when a webhook signing key is set up in Twilio's console (the request
    then says so in ``X-Twilio-Webhooks-Signature-Settings``), with that shared key and the
    algorithm it names (``TWILIO_WEBHOOK_SHARED_KEY``)."""
    signature = request.headers.get("X-Twilio-Signature", "")
    signing = request.headers.get("X-Twilio-Webhooks-Signature-Settings", "")
    secret = settings.TWILIO_WEBHOOK_SHARED_KEY if signing else settings.TWILIO_AUTH_TOKEN
    if not secret or not signature:
        return False
    url = settings.SITE_URL + request.get_full_path()
    return RequestValidator(secret).validate(url, request.POST, signature, get_signature_algorithm(signing))


def _refused(request: HttpRequest, reason: str) -> JsonResponse:
    inbound_refused(
        message_sid=str(request.POST.get("MessageSid", ""))[:64],
        from_phone=str(request.POST.get("From", "")),
        reason=reason,
    )
    logger.warning("twilio webhook refused: %s", reason)
    return JsonResponse({"code": "malformed_request", "detail": "The request could not be read."}, status=400)


def _forged() -> JsonResponse:
    logger.warning("twilio webhook refused: signature")
    return JsonResponse({"code": "invalid_signature", "detail": "Signature check failed."}, status=400)


@route_access(Access.WEBHOOK)
@csrf_exempt
@require_POST
def inbound(request: HttpRequest) -> HttpResponse:
    """A text to our number: STOP, START, HELP, an alert's code, or words for the care team.
    The reply goes back as TwiML (Twilio sends it as a text)."""
    if not _signed(request):
        return _forged()
    sid = request.POST.get("MessageSid", "")
    body = request.POST.get("Body")
    if not MESSAGE_SID.fullmatch(sid):
        return _refused(request, "MessageSid is not a message id")
    if body is None or len(body) > 1600:
        return _refused(request, "Body is missing or too long")
    try:
        from_phone = phone_e164(request.POST.get("From", ""))
    except Exception:
        return _refused(request, "From is not a phone number")
    reply = inbound_text(message_sid=sid, from_phone=from_phone, body=body)
    twiml = MessagingResponse()
    if reply:
        twiml.message(reply)
    return HttpResponse(str(twiml), content_type="text/xml")


PROVIDER_STATUSES = {
    "accepted", "scheduled", "queued", "sending", "sent", "delivered", "undelivered", "failed",
    "receiving", "received", "read", "canceled", "partially_delivered",
}  # fmt: skip


@route_access(Access.WEBHOOK)
@csrf_exempt
@require_POST
def status(request: HttpRequest) -> HttpResponse:
    """Twilio's report on a text we sent: delivered, or not. Out of order or repeated: nothing."""
    if not _signed(request):
        return _forged()
    sid = request.POST.get("MessageSid", "")
    provider_status = request.POST.get("MessageStatus", "")
    error_code = request.POST.get("ErrorCode", "")
    if not MESSAGE_SID.fullmatch(sid):
        return _refused(request, "MessageSid is not a message id")
    if provider_status not in PROVIDER_STATUSES:
        return _refused(request, "MessageStatus is not one of Twilio's")
    if error_code and not error_code.isdigit():
        return _refused(request, "ErrorCode is not a number")
    moved = text_status_update(sid=sid, provider_status=provider_status, error_code=error_code[:8])
    return JsonResponse({"received": True, "changed": moved})
