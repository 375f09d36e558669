"""Error pages (each carries the crisis line like every other page), the crisis help and
trust pages, the language switch, the admin's hand-over to the one sign-in, the health check."""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from knox.models import AuthToken

from grouport.access import Access, route_access
from grouport.forms import ProfileForm
from grouport.services import member_profile_update


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


@route_access(Access.ACCOUNT)
def admin_login(request: HttpRequest) -> HttpResponse:
    """The admin signs in through the site's one sign-in (allauth), whatever was posted here."""
    if request.user.is_authenticated and not request.user.is_staff:
        # A member who opens /admin/: not for them (and no loop back through the sign-in).
        raise PermissionDenied
    query = urlencode({"next": _safe_next(request, "/admin/")})
    return redirect(f"{reverse('account_login')}?{query}")


@route_access(Access.ACCOUNT)
def admin_logout(request: HttpRequest) -> HttpResponse:
    return redirect("account_logout")


@route_access(Access.PUBLIC)
def healthz(request: HttpRequest) -> JsonResponse:
    """For the load balancer and docker compose: the app answers and its database does."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        return JsonResponse({"ok": False}, status=503)
    return JsonResponse({"ok": True})


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """The site's own page when a form's security check fails (cookies cleared, an old tab)."""
    return HttpResponse(render_to_string("403_csrf.html", request=request), status=403)


@route_access(Access.PUBLIC)
def favicon(request: HttpRequest) -> HttpResponse:
    """/favicon.ico, which browsers ask for wherever a page names no icon (an API answer)."""
    response = redirect(static("favicon.ico"))
    response["Cache-Control"] = "public, max-age=86400"
    return response


@route_access(Access.PUBLIC)
def crisis_help(request: HttpRequest) -> HttpResponse:
    """Help now: 988 by call or text, in English or Spanish, 911, and outside the US."""
    return render(request, "pages/help.html")


@route_access(Access.PUBLIC)
def page(request: HttpRequest, name: str) -> HttpResponse:
    """The pages that say who we are and what we do with what members tell us."""
    return render(request, f"pages/{name}.html")


@route_access(Access.PUBLIC)
@require_POST
def language_set(request: HttpRequest) -> HttpResponse:
    """Switch the site's language; a signed-in member's choice is kept for their emails too."""
    language = request.POST.get("language", "")
    target = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = "/"
    response = redirect(target)
    if language not in dict(settings.LANGUAGES):
        return response
    if request.user.is_authenticated and request.user.language != language:
        member_profile_update(member=request.user, data={"language": language}, actor=request.user)
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
        secure=request.is_secure(),
    )
    return response


@route_access(Access.MEMBER)
@login_required
def profile(request: HttpRequest) -> HttpResponse:
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        notices = member_profile_update(member=request.user, data=form.cleaned_data, actor=request.user)
        messages.success(request, _("Your profile is saved."))
        for notice in notices:
            messages.warning(request, notice)
        next_url = request.POST.get("next") or request.GET.get("next")
        if next_url and url_has_allowed_host_and_scheme(
            next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return redirect(next_url)
        return redirect("grouport:profile")
    tokens = AuthToken.objects.filter(user=request.user).order_by("-created")
    return render(
        request,
        "account/profile.html",
        {"form": form, "next": request.GET.get("next", ""), "api_tokens": tokens},
    )


@route_access(Access.MEMBER)
@login_required
@require_POST
def token_revoke(request: HttpRequest, token_id: str) -> HttpResponse:
    """Sign out an app that used an API token (the profile page lists them)."""
    AuthToken.objects.filter(user=request.user, token_key=token_id).delete()
    messages.success(request, _("That app is signed out."))
    return redirect("grouport:profile")


def models_moved_from_enrollment() -> dict[str, str]:
    """Models that left enrollment for an app of their own, keeping their tables: model name
    to its app now."""
    from django.apps import apps

    return {
        m._meta.model_name: m._meta.app_label
        for m in apps.get_models()
        if m._meta.app_label != "enrollment" and m._meta.db_table == f"enrollment_{m._meta.model_name}"
    }


@route_access(Access.PUBLIC)
def admin_page_moved(request: HttpRequest, model: str, rest: str = "") -> HttpResponse:
    """An admin address from before attendance and care left enrollment (a safety alert's link
    in an email sent before the upgrade, a bookmark): the same page under its app's new name.
    Shows nothing itself; the admin page it leads to asks who you are."""
    target = f"/admin/{models_moved_from_enrollment()[model]}/{model}/{rest}"
    query = request.META.get("QUERY_STRING", "")
    return redirect(f"{target}?{query}" if query else target, permanent=True)
