from django import forms

from enrollment.services.reservations import Attestations


class AttestationForm(forms.Form):
    attest_residence = forms.BooleanField(required=False, label="I live in the state shown on my profile.")
    attest_location = forms.BooleanField(
        required=False,
        label="I will attend every session from a state where I may join this group.",
    )
    accept_agreement = forms.BooleanField(
        required=False,
        label="I accept the group agreement, including the crisis plan: in a crisis I will call "
        "or text 988, or 911 in an emergency, because the group is not a crisis service.",
    )

    def attestations(self) -> Attestations:
        data = self.cleaned_data
        return Attestations(
            residence=data["attest_residence"],
            location=data["attest_location"],
            agreement=data["accept_agreement"],
        )
