"""Error pages (each carries the crisis footer like every other page), the admin's hand-over
to the one sign-in, and the health check."""

from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse(
            {"code": "bad_request", "detail": "The request could not be understood."}, status=400
        )
    return HttpResponse(render_to_string("400.html", request=request), status=400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse({"code": "permission_denied", "detail": "You may not do this."}, status=403)
    return HttpResponse(render_to_string("403.html", request=request), status=403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse({"code": "not_found", "detail": "Not found."}, status=404)
    return HttpResponse(render_to_string("404.html", request=request), status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse(
            {"code": "server_error", "detail": "Something went wrong on our side."}, status=500
        )
    # No context processors or database here: the failure may be the database itself.
    return HttpResponse(render_to_string("500.html"), status=500)


def _safe_next(request: HttpRequest, default: str) -> str:
    wanted = request.GET.get("next") or default
    if url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return wanted
    return default


def admin_login(request: HttpRequest) -> HttpResponse:
    """The admin signs in through the site's one sign-in (allauth), whatever was posted here."""
    if request.user.is_authenticated and not request.user.is_staff:
        # A member who opens /admin/: not for them (and no loop back through the sign-in).
        raise PermissionDenied
    query = urlencode({"next": _safe_next(request, "/admin/")})
    return redirect(f"{reverse('account_login')}?{query}")


def admin_logout(request: HttpRequest) -> HttpResponse:
    return redirect("account_logout")


def healthz(request: HttpRequest) -> JsonResponse:
    """For the load balancer and docker compose: the app answers and its database does."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        return JsonResponse({"ok": False}, status=503)
    return JsonResponse({"ok": True})
