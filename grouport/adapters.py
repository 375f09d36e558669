"""How grouport bends django-allauth: one sign-in limit per account, links from SITE_URL."""

import time
from urllib.parse import urlsplit, urlunsplit

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.utils.translation import gettext_lazy as _


def login_attempts_key(email: str) -> str:
    """The one key wrong passwords for an account count under, on the site and the API.

    allauth's own key starts with the request's host (with its port), so each spelling of the
    host, or the API, would give an attacker a fresh five guesses.
    """
    return (email or "").strip().lower()


def on_site_url(url: str) -> str:
    """Return ``url`` at the site's configured address, never at the Host a request claimed.

    A reset link built from the request's Host header goes wherever the requester says; with
    SITE_URL it always points at us.
    """
    if not settings.SITE_URL:
        return url
    site = urlsplit(settings.SITE_URL)
    bits = urlsplit(url)
    return urlunsplit((site.scheme, site.netloc, bits.path, bits.query, bits.fragment))


class AccountAdapter(DefaultAccountAdapter):
    error_messages = {
        **DefaultAccountAdapter.error_messages,
        # How long is "later"? Say it, and say it kindly.
        "too_many_login_attempts": _(
            "Too many failed sign-in attempts. Please wait a few minutes and try again."
        ),
    }

    def is_reauthentication_required(self, *, app: str, **kwargs) -> bool:
        """Not again while enrolling a second factor right after signing in.

        Staff and therapists are sent to enrol one the moment they sign in, and allauth asked
        for the password they had just typed (it counts only an explicit re-entry as recent).
        Skipped only for that: a second factor being set up (none yet, or the one this session
        just enrolled, whose recovery codes come next) within the re-entry window of the
        sign-in. Anything else sensitive (removing a second factor later, new codes, another
        email) asks as before.
        """
        from allauth.account import app_settings
        from allauth.account.authentication import get_authentication_records
        from allauth.mfa.utils import is_mfa_enabled

        from grouport.roles import ENROLLED_SESSION_KEY

        request = getattr(self, "request", None)
        user = getattr(request, "user", None)
        if app == "allauth.mfa" and user is not None and user.is_authenticated:
            enrolling = not is_mfa_enabled(user) or request.session.get(ENROLLED_SESSION_KEY) == user.pk
            records = get_authentication_records(request, user)
            if (
                enrolling
                and records
                and time.time() - records[-1]["at"] < app_settings.REAUTHENTICATION_TIMEOUT
            ):
                return False
        return super().is_reauthentication_required(app=app, **kwargs)

    def _get_login_attempts_cache_key(self, request, **credentials) -> str:
        return login_attempts_key(credentials.get("email", credentials.get("username", "")))

    def get_reset_password_from_key_url(self, key: str) -> str:
        return on_site_url(super().get_reset_password_from_key_url(key))

    def get_email_confirmation_url(self, request, emailconfirmation) -> str:
        return on_site_url(super().get_email_confirmation_url(request, emailconfirmation))

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        # Every link in an account email points at SITE_URL (allauth builds some, like the
        # sign-up link, from the request's Host); the crisis line at the top links to /help/.
        links = {
            key: on_site_url(value)
            for key, value in context.items()
            if key.endswith("_url") and isinstance(value, str) and value.startswith(("http://", "https://"))
        }
        super().send_mail(template_prefix, email, {**context, **links, "site_url": settings.SITE_URL})
