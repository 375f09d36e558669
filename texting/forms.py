from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from intake.phones import phone_e164


class TextsForm(forms.Form):
    """Turn text reminders on or off. The box is never ticked for the member."""

    receive = forms.BooleanField(required=False)
    phone = forms.CharField(
        label=_("Mobile number"),
        max_length=32,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )

    def __init__(self, *args, opt_in_words: str = "", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["receive"].label = opt_in_words

    def clean(self) -> dict:
        data = super().clean()
        if data.get("receive"):
            try:
                data["phone"] = phone_e164(data.get("phone") or "")
            except ValidationError:
                self.add_error("phone", _("Enter a mobile number that can get texts, such as 212 555 0123."))
        return data
