"""allauth's sign-in and sign-up forms in our words and ways (kept apart from ``grouport.forms``,
which allauth's own forms module imports for the sign-up fields)."""

from allauth.account.forms import LoginForm, SignupForm
from django.contrib.auth.hashers import make_password
from django.utils.translation import gettext_lazy as _


class SignInForm(LoginForm):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if "remember" in self.fields:
            self.fields["remember"].label = _("Keep me signed in on this device")


class SignUpForm(SignupForm):
    """allauth's sign-up, which neither tells nor times who has an account, and which keeps a
    person's passwords when something else on the form needs fixing."""

    PASSWORDS = ("password1", "password2")

    def full_clean(self) -> None:
        super().full_clean()
        if self.is_bound and not any(name in self.errors for name in self.PASSWORDS):
            # The time zone or a name needs a second look: typing two passwords again on a
            # phone is what makes people give up. The page is never cached (no-store).
            for name in self.PASSWORDS:
                if name in self.fields:
                    self.fields[name].widget.render_value = True

    def try_save(self, request):
        if self.account_already_exists:
            # The same work as making the account: its password's hash takes most of the time
            # a sign-up takes, and a sign-up that answered fast would say "this address has an
            # account" (that someone has an account here is health information).
            make_password(self.cleaned_data.get("password1") or "")
        return super().try_save(request)
