"""The member profile: names, state of residence, time zone and language, at sign-up and after."""

from django import forms
from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from grouport.models import User
from grouport.states import (
    SPLIT_TIME_ZONE_STATES,
    STATE_CHOICES,
    TIME_ZONE_CHOICES,
    default_time_zone,
    is_valid_time_zone,
    member_time_zone_choices,
    time_zone_name,
)
from grouport.widgets import FastSelect


def _zone_choices() -> list[tuple[str, object]]:
    return [("", _("The usual one for my state")), *member_time_zone_choices()]


class ProfileFieldsMixin(forms.Form):
    first_name = forms.CharField(label=_("First name"), max_length=150)
    last_name = forms.CharField(label=_("Last name"), max_length=150)
    state = forms.ChoiceField(
        label=_("State you live in"),
        choices=[("", _("Choose your state")), *STATE_CHOICES],
        help_text=_("Therapy groups depend on where you live; skills groups are open to everyone."),
    )
    time_zone = forms.ChoiceField(
        label=_("Your time zone"),
        required=False,
        choices=_zone_choices,
        # The zones the sign-up may start at when the browser is in one (site.js): the US ones.
        widget=FastSelect(
            fixed="member-zones", attrs={"data-suggest": " ".join(zone for zone, _name in TIME_ZONE_CHOICES)}
        ),
        help_text=_("Away from home, or abroad? Pick the zone you are in."),
    )

    def clean_time_zone(self) -> str:
        zone = self.cleaned_data.get("time_zone") or ""
        if zone and not is_valid_time_zone(zone):
            raise forms.ValidationError(_("That is not a time zone we know."))
        return zone

    def clean(self) -> dict:
        data = super().clean()
        state, tz = data.get("state"), data.get("time_zone")
        split = SPLIT_TIME_ZONE_STATES.get(state or "")
        if split and not tz:
            # Florida: the panhandle west of the Apalachicola River is on Central time. Said only
            # to the people it concerns, when they need to choose.
            names = str(_(" or ")).join(time_zone_name(z) for z in split)
            self.add_error(
                "time_zone",
                _("Parts of this state are on different clocks: choose %(names)s.") % {"names": names},
            )
        elif state and not tz:
            data["time_zone"] = default_time_zone(state)
        return data


class ProfileSignupForm(ProfileFieldsMixin):
    """Extra sign-up fields; allauth calls ``signup`` once the account exists."""

    def signup(self, request: HttpRequest, user: User) -> None:
        for field in ("first_name", "last_name", "state", "time_zone"):
            setattr(user, field, self.cleaned_data[field])
        # The language they signed up in is the one their emails will be in.
        user.language = (get_language() or settings.LANGUAGE_CODE)[:2]
        user.save(update_fields=["first_name", "last_name", "state", "time_zone", "language"])


class ProfileForm(ProfileFieldsMixin, forms.ModelForm):
    language = forms.ChoiceField(
        label=_("Language for the site and emails"), choices=settings.LANGUAGES, required=False
    )

    class Meta:
        model = User
        fields = ["first_name", "last_name", "state", "time_zone", "language"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not self.instance.language:
            # No choice saved yet: the language they are reading now, not the list's first.
            self.initial["language"] = (get_language() or settings.LANGUAGE_CODE)[:2]
