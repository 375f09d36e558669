"""The catalog filters, shared by the pages and the API so both validate the same way."""

from django import forms
from django.http import HttpRequest

from grouport.states import (
    FALLBACK_TIME_ZONE,
    STATE_CHOICES,
    TIME_ZONE_CHOICES,
    TIME_ZONE_NAMES,
    default_time_zone,
)
from groups.models import Group, Module
from groups.selectors import TIME_OF_DAY

TIME_OF_DAY_CHOICES = [
    ("morning", "Morning (5 am – noon)"),
    ("afternoon", "Afternoon (noon – 5 pm)"),
    ("evening", "Evening (after 5 pm)"),
]
assert {code for code, _ in TIME_OF_DAY_CHOICES} == set(TIME_OF_DAY)


class CatalogFilterForm(forms.Form):
    state = forms.ChoiceField(
        label="I live in",
        required=False,
        choices=[("", "Any state"), *STATE_CHOICES],
        error_messages={"invalid_choice": "Choose a US state, or “Outside the US”."},
    )
    kind = forms.ChoiceField(label="Kind", required=False, choices=[("", "Any kind"), *Group.Kind.choices])
    weekday = forms.TypedChoiceField(
        label="Day",
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", "Any day"), *Group.Weekday.choices],
    )
    time_of_day = forms.ChoiceField(
        label="Time of day", required=False, choices=[("", "Any time"), *TIME_OF_DAY_CHOICES]
    )
    module = forms.ChoiceField(label="Module", required=False, choices=[("", "Any module"), *Module.choices])
    tz = forms.ChoiceField(
        label="Show times in", required=False, choices=[("", "My state's time"), *TIME_ZONE_CHOICES]
    )

    def __init__(self, data=None, *args, **kwargs) -> None:
        if data is not None and data.get("state"):
            data = data.copy()
            data["state"] = data["state"].strip().upper()
        super().__init__(data, *args, **kwargs)

    # The API names the error after the parameter: ?state=ZZ is "invalid_state".
    def first_error_code(self) -> tuple[str, str]:
        name, errors = next(iter(self.errors.items()))
        return f"invalid_{name}", f"{name}: {errors[0]}"

    def filters(self) -> dict[str, object]:
        data = self.cleaned_data
        return {
            "state": data.get("state") or None,
            "kind": data.get("kind") or None,
            "weekday": data.get("weekday"),
            "module": data.get("module") or None,
            "time_of_day": data.get("time_of_day") or None,
        }


def viewer_time_zone(request: HttpRequest, *, tz: str | None = None, state: str | None = None) -> str:
    """Return the zone to show times in: chosen, else the member's, else their state's usual one."""
    if tz in TIME_ZONE_NAMES:
        return tz
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and user.time_zone:
        return user.time_zone
    if state:
        return default_time_zone(state)
    if user is not None and user.is_authenticated and user.state:
        return default_time_zone(user.state)
    return FALLBACK_TIME_ZONE
