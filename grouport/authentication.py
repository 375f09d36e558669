"""API tokens as a sign-in: knox's expiring, hashed tokens, and for staff and therapists
only those issued with a second factor.

Kept apart from ``grouport.api`` (the views): DRF reads its authentication classes while it
defines ``APIView``, so this module must not import DRF's views.
"""

from django.utils import timezone
from django.utils.translation import gettext as _
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from knox.models import AuthToken
from rest_framework import exceptions

from grouport.models import User
from grouport.roles import needs_second_factor


def token_after_second_factor(user: User, token: AuthToken) -> bool:
    """Whether ``token`` was issued after ``user`` had a second factor, so its issue asked for
    a code (``TokenApi``): a token from before (a member since made staff, an authenticator
    since deleted) never reads members' data."""
    from allauth.mfa.models import Authenticator

    return Authenticator.objects.filter(
        user=user, type=Authenticator.Type.TOTP, created_at__lte=token.created
    ).exists()


class TokenAuthentication(KnoxTokenAuthentication):
    """knox's expiring, hashed tokens; for staff and therapists, only tokens issued with a
    second factor (the session's rule is ``SecondFactorMiddleware``'s)."""

    def _cleanup_token(self, auth_token: AuthToken) -> bool:
        """Refuse (and delete) this token if it has expired.

        knox also read every other token of the user on every request to delete the expired
        ones: a query per API call. ``tokens_expire`` (a periodic job) does that instead.
        """
        if auth_token.expiry is not None and auth_token.expiry < timezone.now():
            auth_token.delete()
            return True
        return False

    def validate_user(self, auth_token: AuthToken):
        user, token = super().validate_user(auth_token)
        if needs_second_factor(user) and not token_after_second_factor(user, token):
            raise exceptions.PermissionDenied(
                _(
                    "Your account can see members' health information: ask for a new token after "
                    "setting up two-step sign-in on the site."
                ),
                code="second_factor_required",
            )
        return user, token


def tokens_expire() -> int:
    """Delete every expired API token; return how many (a periodic job)."""
    deleted, _by_model = AuthToken.objects.filter(expiry__lt=timezone.now()).delete()
    return deleted
