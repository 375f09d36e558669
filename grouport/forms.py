"""The member profile: names, state of residence and time zone, at sign-up and after."""

from django import forms
from django.http import HttpRequest

from grouport.models import User
from grouport.states import (
    SPLIT_TIME_ZONE_STATES,
    STATE_CHOICES,
    TIME_ZONE_CHOICES,
    TIME_ZONE_NAMES,
    default_time_zone,
)


class ProfileFieldsMixin(forms.Form):
    first_name = forms.CharField(max_length=150)
    last_name = forms.CharField(max_length=150)
    state = forms.ChoiceField(
        label="State you live in",
        choices=[("", "Choose your state"), *STATE_CHOICES],
        help_text="Therapy groups depend on where you live; skills groups are open to everyone.",
    )
    time_zone = forms.ChoiceField(
        label="Your time zone",
        required=False,
        choices=[("", "The usual one for my state"), *TIME_ZONE_CHOICES],
        help_text="Florida spans two zones: the panhandle west of the Apalachicola River is Central.",
    )

    def clean(self) -> dict:
        data = super().clean()
        state, tz = data.get("state"), data.get("time_zone")
        split = SPLIT_TIME_ZONE_STATES.get(state or "")
        if split and tz not in split:
            names = " or ".join(TIME_ZONE_NAMES[z] for z in split)
            self.add_error("time_zone", f"Parts of this state are on different clocks: choose {names}.")
        elif state and not tz:
            data["time_zone"] = default_time_zone(state)
        return data


class ProfileSignupForm(ProfileFieldsMixin):
    """Extra sign-up fields; allauth calls ``signup`` once the account exists."""

    def signup(self, request: HttpRequest, user: User) -> None:
        for field in ("first_name", "last_name", "state", "time_zone"):
            setattr(user, field, self.cleaned_data[field])
        user.save(update_fields=["first_name", "last_name", "state", "time_zone"])


class ProfileForm(ProfileFieldsMixin, forms.ModelForm):
    class Meta:
        model = User
        fields = ["first_name", "last_name", "state", "time_zone"]
