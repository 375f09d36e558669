"""The Stripe webhook endpoint: the only trusted proof of payment."""

import logging

import stripe
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from billing.gateway import webhook_event_verify
from billing.webhooks import stripe_event_process

logger = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    try:
        event = webhook_event_verify(payload=request.body, signature=request.headers.get("Stripe-Signature"))
    except (stripe.SignatureVerificationError, ValueError, KeyError) as exc:
        logger.warning("stripe webhook refused: %s", type(exc).__name__)
        return JsonResponse({"code": "invalid_signature", "detail": "Signature check failed."}, status=400)
    try:
        handled = stripe_event_process(event=event)
    except Exception:
        # Everything the event changed has rolled back; Stripe will deliver it again.
        logger.exception("stripe event %s failed", event.get("id"))
        return JsonResponse({"code": "retry", "detail": "Could not handle the event now."}, status=500)
    return JsonResponse({"received": True, "duplicate": not handled})
