"""The intake and the consent, as forms that keep the member on the page with every reason."""

import datetime as dt
import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from grouport.states import OUTSIDE_US, STATE_CHOICES
from intake.models import MemberIntake, ScreeningQuestion
from intake.phones import phone_display, phone_e164
from intake.services import NO, YES, IntakeData, question_choices

US_STATES = [(code, name) for code, name in STATE_CHOICES if code != OUTSIDE_US]
ZIP = re.compile(r"^\d{5}(-\d{4})?$")


def question_label(question: ScreeningQuestion, language: str) -> str:
    return question.text_es if language.startswith("es") and question.text_es else question.text


def question_options(question: ScreeningQuestion, language: str) -> list[tuple[str, str]]:
    """(value, label) pairs: the stored value is the English choice, the label the page's."""
    values = question_choices(question)
    if question.kind == ScreeningQuestion.Kind.YES_NO:
        return [(YES, str(_("Yes"))), (NO, str(_("No")))]
    labels = [line.strip() for line in question.choices_es.splitlines() if line.strip()]
    if not language.startswith("es") or len(labels) != len(values):
        labels = values
    return list(zip(values, labels, strict=True))


class IntakeForm(forms.Form):
    """What the clinic needs to care for a member. ``therapy=False`` (skills groups) asks
    only the date of birth."""

    birth_date = forms.DateField(
        label=_("Date of birth"), widget=forms.DateInput(attrs={"type": "date", "autocomplete": "bday"})
    )
    phone = forms.CharField(
        label=_("Your mobile number"),
        max_length=32,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
        help_text=_("So your therapist can reach you if something happens during a session."),
    )
    emergency_name = forms.CharField(label=_("Emergency contact: name"), max_length=150)
    emergency_relationship = forms.CharField(
        label=_("Emergency contact: how you know them"),
        max_length=60,
        help_text=_("For example: partner, parent, friend."),
    )
    emergency_phone = forms.CharField(
        label=_("Emergency contact: phone"), max_length=32, widget=forms.TextInput(attrs={"type": "tel"})
    )
    address_line = forms.CharField(
        label=_("Street address where you usually join from"),
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "street-address"}),
        help_text=_("If you are ever in danger during a session, this is where help would be sent."),
    )
    address_city = forms.CharField(
        label=_("City"), max_length=100, widget=forms.TextInput(attrs={"autocomplete": "address-level2"})
    )
    address_state = forms.ChoiceField(label=_("State"), choices=[("", "—"), *US_STATES])
    address_postal_code = forms.CharField(
        label=_("ZIP code"),
        max_length=10,
        widget=forms.TextInput(attrs={"autocomplete": "postal-code", "inputmode": "numeric"}),
    )

    THERAPY_ONLY = MemberIntake.THERAPY_FIELDS

    def __init__(
        self,
        *args,
        therapy: bool = True,
        questions: list[ScreeningQuestion] = (),
        intake: MemberIntake | None = None,
        answers: dict[int, str] | None = None,
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.therapy = therapy
        self.intake = intake
        self.questions = list(questions) if therapy else []
        language = get_language() or "en"
        if intake is not None and not self.is_bound:
            self.initial.update(
                {name: getattr(intake, name) for name in ("birth_date", *self.THERAPY_ONLY)},
                phone=phone_display(intake.phone),
                emergency_phone=phone_display(intake.emergency_phone),
            )
        if not therapy:
            for name in self.THERAPY_ONLY:
                del self.fields[name]
        for question in self.questions:
            name = f"q_{question.pk}"
            label = question_label(question, language)
            if question.kind == ScreeningQuestion.Kind.TEXT:
                self.fields[name] = forms.CharField(
                    label=label, max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2})
                )
            else:
                self.fields[name] = forms.ChoiceField(
                    label=label, choices=question_options(question, language), widget=forms.RadioSelect
                )
            if answers and question.pk in answers and not self.is_bound:
                self.initial[name] = answers[question.pk]

    def clean_birth_date(self) -> dt.date:
        born = self.cleaned_data["birth_date"]
        today = timezone.localdate()
        if born > today:
            raise ValidationError(_("A date of birth can't be in the future."))
        if born.year < today.year - 120:
            raise ValidationError(_("Please check the year."))
        return born

    def clean_phone(self) -> str:
        return phone_e164(self.cleaned_data["phone"])

    def clean_emergency_phone(self) -> str:
        return phone_e164(self.cleaned_data["emergency_phone"])

    def clean_address_postal_code(self) -> str:
        value = self.cleaned_data["address_postal_code"].strip()
        if not ZIP.match(value):
            raise ValidationError(_("Enter a 5-digit ZIP code."))
        return value

    def clean(self):
        data = super().clean()
        if self.therapy and data.get("phone") and data.get("phone") == data.get("emergency_phone"):
            self.add_error("emergency_phone", _("Give someone else's number here, not your own."))
        return data

    def intake_data(self) -> IntakeData:
        data = self.cleaned_data
        kept = self.intake
        values = {}
        for name in self.THERAPY_ONLY:
            # A skills group's form asks only the age: what a therapy intake gave is kept.
            values[name] = data[name] if self.therapy else (getattr(kept, name) if kept else "")
            if isinstance(values[name], str):
                values[name] = values[name].strip()
        return IntakeData(birth_date=data["birth_date"], **values)

    def answers(self) -> dict[int, str]:
        return {q.pk: self.cleaned_data.get(f"q_{q.pk}", "") or "" for q in self.questions}

    def question_fields(self):
        return [self[f"q_{q.pk}"] for q in self.questions]

    def detail_fields(self):
        return [self[name] for name in self.fields if not name.startswith("q_")]


class ConsentForm(forms.Form):
    signed_name = forms.CharField(
        label=_("Type your full name to sign"),
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    version = forms.IntegerField(widget=forms.HiddenInput)
    agree = forms.BooleanField(
        label=_("I have read this consent and agree to take part in group therapy by telehealth.")
    )

    def clean_signed_name(self) -> str:
        name = " ".join(self.cleaned_data["signed_name"].split())
        if len(name) < 2:
            raise ValidationError(
                _("That is too short to be a name: please type your full name, as you would sign it.")
            )
        return name
