"""Account events: a password change signs every API token out; enrolling a second factor
counts as using it for the session it happens in; signing in switches to the member's language.

Tokens are django-rest-knox's: stored as a hash, expiring after ``API_TOKEN_TTL_HOURS``,
listed and revoked by their owner (``grouport/api.py``). Whatever changes a password (the
member's own change, a reset link, staff in the admin, the shell), the user's row is saved
with a new hash, and that is when the tokens go.
"""

import logging

from allauth.mfa.signals import authenticator_added
from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver
from django.utils import translation
from knox.models import AuthToken

from grouport.models import User
from grouport.roles import ENROLLED_SESSION_KEY

logger = logging.getLogger(__name__)


@receiver(pre_save, sender=User, dispatch_uid="grouport.note_password_change")
def note_password_change(sender, instance: User, update_fields=None, **kwargs) -> None:
    if instance.pk is None or (update_fields is not None and "password" not in update_fields):
        return  # a new account, or a save that leaves the password alone (last_login, say)
    stored = User.objects.filter(pk=instance.pk).values_list("password", flat=True).first()
    instance._password_changed = stored is not None and stored != instance.password


@receiver(post_save, sender=User, dispatch_uid="grouport.revoke_tokens_on_password_change")
def revoke_tokens_on_password_change(sender, instance: User, created: bool, **kwargs) -> None:
    if created or not getattr(instance, "_password_changed", False):
        return
    revoked, _ = AuthToken.objects.filter(user=instance).delete()
    instance._password_changed = False
    if revoked:
        logger.info("user %s: %d API tokens revoked after a password change", instance.pk, revoked)


@receiver(authenticator_added, dispatch_uid="grouport.second_factor_enrolled")
def second_factor_enrolled(sender, request, user, authenticator, **kwargs) -> None:
    # Activating an authenticator takes a valid code from it: this session has used it.
    if request is not None and hasattr(request, "session"):
        request.session[ENROLLED_SESSION_KEY] = user.pk


@receiver(user_logged_in, dispatch_uid="grouport.language_at_sign_in")
def language_at_sign_in(sender, request, user, **kwargs) -> None:
    """From the moment they sign in, a member reads their own language: "Signed in as ..."
    included (it is written right after this), unless this browser picked one with the switch."""
    language = getattr(user, "language", "")
    if request is not None and language and settings.LANGUAGE_COOKIE_NAME not in request.COOKIES:
        translation.activate(language)
        request.LANGUAGE_CODE = language
