"""Request-wide rules: friendly domain errors, the audit context, private responses never
cached, unprintable input refused, and a second factor for everyone who sees members' data."""

from collections.abc import Callable
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _

from grouport.access import BEFORE_SECOND_FACTOR, Access, access_of
from grouport.audit import client_ip, current_ip
from grouport.exceptions import DomainError
from grouport.roles import needs_second_factor, second_factor_passed
from grouport.text import UNPRINTABLE
from grouport.zones import viewer_zone

# The page a clinician asked for when they were sent to set up a second factor.
AFTER_SECOND_FACTOR = "after_second_factor"


class DomainErrorPageMiddleware:
    """Turn a domain error raised under a page into a friendly page (the API has its handler)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, DomainError) or request.path.startswith("/api/"):
            return None
        return render(request, "domain_error.html", {"error": exception}, status=exception.status_code)


class AuditContextMiddleware:
    """Make the client's address available to the audit trail for the whole request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = current_ip.set(client_ip(request))
        try:
            return self.get_response(request)
        finally:
            current_ip.reset(token)


# Paths that may carry a member's data (their groups, profile, tokens) or a staff page. The
# catalog, its API and the schema are public, and cacheable when nobody is signed in.
PRIVATE_PREFIXES = (
    "/api/", "/admin/", "/accounts/", "/account/", "/my/", "/reservations/", "/waitlist/", "/reports/",
)  # fmt: skip
PUBLIC_PREFIXES = ("/api/groups/", "/api/eligibility/", "/api/schema/", "/api/docs/")


class PrivateResponseMiddleware:
    """``Cache-Control: no-store`` on every answer that may carry member data.

    A shared computer's browser history, a proxy or the back button must not keep someone's
    "My groups", calendar file or API answer: every answer to a signed-in person (a session,
    or an API token: DRF sets the user on the request), and every private path.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path.startswith("/static/"):
            return response
        user = getattr(request, "user", None)
        signed_in = bool(user is not None and user.is_authenticated)
        private = request.path.startswith(PRIVATE_PREFIXES) and not request.path.startswith(PUBLIC_PREFIXES)
        if signed_in or private:
            add_never_cache_headers(response)
        return response


class UnprintableInputMiddleware:
    """Answer 400 to a path, query string or form field holding unprintable characters."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self._unprintable(request):
            if request.path.startswith("/api/"):
                return JsonResponse(
                    {
                        "code": "invalid_characters",
                        "detail": "The request contains characters that are not allowed.",
                    },
                    status=400,
                )
            return HttpResponseBadRequest(
                "The request contains characters that are not allowed. Need help now? Call or text 988."
            )
        return self.get_response(request)

    @staticmethod
    def _unprintable(request: HttpRequest) -> bool:
        if UNPRINTABLE.search(request.path):
            return True
        for key, value in request.GET.lists():
            if UNPRINTABLE.search(key) or any(UNPRINTABLE.search(v) for v in value):
                return True
        content_type = request.META.get("CONTENT_TYPE", "")
        if request.method == "POST" and content_type.startswith(
            ("application/x-www-form-urlencoded", "multipart/")
        ):
            # Read (and keep) the raw body first: a view that verifies a signature over it
            # (the Stripe webhook) can still read it after the form has been parsed.
            request.body  # noqa: B018
            for key, value in request.POST.lists():
                if "\x00" in key or any("\x00" in v for v in value):
                    return True
        return False


class MemberLanguageMiddleware:
    """Use a signed-in member's saved language when the browser has not picked one here.

    The switcher sets a cookie (and saves the choice on the profile); without the cookie, a
    member who chose Spanish on another device still reads Spanish. A member with no saved
    choice gets the language they are reading in saved, for their emails.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if user.is_authenticated and hasattr(user, "language"):
            if user.language and settings.LANGUAGE_COOKIE_NAME not in request.COOKIES:
                translation.activate(user.language)
                request.LANGUAGE_CODE = user.language
            elif not user.language:
                # No choice saved yet (an account from before languages): the one they read
                # the site in becomes the one their emails and reminders are written in.
                reading = (translation.get_language() or settings.LANGUAGE_CODE)[:2]
                if reading in dict(settings.LANGUAGES):
                    get_user_model().objects.filter(pk=user.pk, language="").update(language=reading)
                    user.language = reading
        return self.get_response(request)


class StaffTimeZoneMiddleware:
    """Staff and therapists read every time in the admin and the reports in their own zone.

    Django shows stored times in the active zone, which was UTC: a Thursday 6 PM Central
    session read "Dec. 25, midnight". The zone is the viewer's (their profile, else their
    browser's, else their state's usual one: ``grouport.zones.viewer_zone``), and every admin
    page names it at the top (``templates/admin/base_site.html``).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs) -> None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return
        if access_of(request.resolver_match) in (Access.CLINICAL, Access.STAFF):
            zone, _source = viewer_zone(request)
            timezone.activate(ZoneInfo(zone))


class SecondFactorMiddleware:
    """Staff and therapists pass a second factor before any route that can show a member.

    Their accounts can see members' health information, so until the session has used a
    second factor they reach only the routes that show nobody (``PUBLIC``) and the ones they
    need to sign in and enrol one (``ACCOUNT``): every other route, and any route nobody has
    classified, is closed to them (``grouport/access.py``). Without one enrolled, they are
    walked through enrolling (TOTP, with recovery codes); with one enrolled but a
    password-only session, they are asked for a code. The API answers 403
    ``second_factor_required`` (API tokens are checked by ``grouport.authentication.TokenAuthentication``).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs) -> HttpResponse | None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not needs_second_factor(user):
            return None
        if access_of(request.resolver_match) in BEFORE_SECOND_FACTOR or second_factor_passed(request):
            return None
        if request.path.startswith("/api/"):
            return JsonResponse(
                {
                    "code": "second_factor_required",
                    "detail": _(
                        "Your account can see members' health information: sign in on the site with "
                        "your second factor first."
                    ),
                },
                status=403,
            )
        return self._second_factor_please(request)

    @staticmethod
    def _second_factor_please(request: HttpRequest) -> HttpResponse:
        from allauth.mfa.utils import is_mfa_enabled

        query = urlencode({"next": request.get_full_path()})
        if not is_mfa_enabled(request.user):
            # Where they were going (a safety alert from a page, say): the recovery codes
            # page, which ends the enrolment, leads back there (``after_second_factor``).
            if request.method == "GET":
                request.session[AFTER_SECOND_FACTOR] = request.get_full_path()
            messages.info(
                request,
                _(
                    "Your account can see members' health information, so it needs a second factor. "
                    "Set up an authenticator app to continue."
                ),
            )
            return redirect(f"/accounts/2fa/totp/activate/?{query}")
        messages.info(request, _("Enter a code from your authenticator app to continue."))
        return redirect(f"/accounts/2fa/reauthenticate/?{query}")
