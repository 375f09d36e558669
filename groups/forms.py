"""The catalog filters, shared by the pages and the API so both validate the same way."""

from django import forms
from django.utils.translation import gettext_lazy as _

from grouport.states import (
    STATE_CHOICES,
    member_time_zone_choices,
)
from grouport.widgets import FastSelect
from groups.models import Group, Module
from groups.selectors import TIME_OF_DAY

TIME_OF_DAY_CHOICES = [
    ("morning", _("Morning (5 am – noon)")),
    ("afternoon", _("Afternoon (noon – 5 pm)")),
    ("evening", _("Evening (after 5 pm)")),
]
assert {code for code, _label in TIME_OF_DAY_CHOICES} == set(TIME_OF_DAY)


def _zone_choices():
    return [("", _("My own time")), *member_time_zone_choices()]


class CatalogFilterForm(forms.Form):
    state = forms.ChoiceField(
        label=_("I live in"),
        required=False,
        choices=[("", _("Any state")), *STATE_CHOICES],
        error_messages={
            "invalid_choice": _("We don't know that state. Choose a US state, or “Outside the US”.")
        },
        widget=FastSelect,
    )
    kind = forms.ChoiceField(
        label=_("Kind"), required=False, choices=[("", _("Any kind")), *Group.Kind.choices], widget=FastSelect
    )
    weekday = forms.TypedChoiceField(
        label=_("Day (your time)"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", _("Any day")), *Group.Weekday.choices],
        widget=FastSelect,
    )
    time_of_day = forms.ChoiceField(
        label=_("Time of day"),
        required=False,
        choices=[("", _("Any time")), *TIME_OF_DAY_CHOICES],
        widget=FastSelect,
    )
    module = forms.ChoiceField(
        label=_("Module"), required=False, choices=[("", _("Any module")), *Module.choices], widget=FastSelect
    )
    tz = forms.ChoiceField(
        label=_("Show times in"),
        required=False,
        choices=_zone_choices,
        widget=FastSelect(fixed="viewer-zones"),
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
