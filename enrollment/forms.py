"""What a member confirms before taking a seat, as a form that keeps them on the page."""

from django import forms
from django.utils.translation import gettext_lazy as _

from enrollment.services.reservations import Attestations


class AttestationForm(forms.Form):
    """The statements, each required. Residence and location are asked only for therapy
    groups (licensing follows where the member lives and is); everyone accepts the group
    agreement, whose version travels with the form so the one they read is the one kept."""

    attest_residence = forms.BooleanField(label=_("I live in the state shown on my profile."))
    attest_location = forms.BooleanField(
        label=_("I will attend every session from a state where I may join this group.")
    )
    accept_agreement = forms.BooleanField(
        label=_(
            "I have read and accept the group agreement, including the crisis plan: in a crisis I will "
            "call or text 988, or 911 in an emergency, because the group is not a crisis service."
        )
    )
    agreement_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    error_messages = {"required": _("Please confirm this statement.")}

    def __init__(
        self,
        *args,
        therapy: bool = True,
        agreement_version: int | None = None,
        state_name: str = "",
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.therapy = therapy
        if state_name:
            # Say which state: "the state on my profile" asks them to remember it.
            self.fields["attest_residence"].label = _("I live in %(state)s, the state on my profile.") % {
                "state": state_name
            }
        if not therapy:
            del self.fields["attest_residence"]
            del self.fields["attest_location"]
        self.fields["agreement_version"].initial = agreement_version
        for field in self.fields.values():
            if isinstance(field, forms.BooleanField):
                field.error_messages["required"] = _("Please confirm this statement.")

    def agreement_changed(self, *, version: int, message: str) -> None:
        """The agreement changed while the member had the form open: show them the new
        version's text, untick "I accept" and say why; the next submit accepts ``version``."""
        data = self.data.copy()
        data["agreement_version"] = str(version)
        data.pop("accept_agreement", None)
        self.data = data
        self.add_error("accept_agreement", message)

    def attestations(self) -> Attestations:
        data = self.cleaned_data
        return Attestations(
            residence=data.get("attest_residence", not self.therapy) is True,
            location=data.get("attest_location", not self.therapy) is True,
            agreement=data["accept_agreement"],
            agreement_version=data.get("agreement_version"),
        )
