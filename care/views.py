"""A member's outcome questionnaires: the questions, the crisis page first when an answer
needs a person, and their own results over time. Only the member sees these pages."""

from zoneinfo import ZoneInfo

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import get_language

from care.links import BadSurveyToken, survey_path, survey_token_read
from care.models import MeasureResponse, OnCallClinician, OutcomeSurvey, SafetyAlert
from care.oncall import may_see_alert, safety_alert_acknowledge
from care.services import SurveyClosed, survey_answer
from grouport.access import Access, route_access
from grouport.audit import audit_record
from grouport.exceptions import InvalidInput
from grouport.zones import viewer_zone
from intake.phones import phone_display
from intake.selectors import member_intake
from texting.services import receives_texts


def _own_survey(request: HttpRequest, token: str) -> OutcomeSurvey:
    try:
        survey_id = survey_token_read(token)
    except BadSurveyToken:
        raise Http404("Not a questionnaire link.") from None
    survey = (
        OutcomeSurvey.objects.select_related("reservation__group")
        .filter(pk=survey_id, reservation__member=request.user)
        .first()
    )
    if survey is None:
        # Someone else's questions do not exist, as far as this member can tell.
        raise Http404("Not a questionnaire link.")
    return survey


class SurveyForm(forms.Form):
    """One radio question per item of each measure, named ``<code>-<item>``.

    No HTML ``required``: the browser would hold back a form with a skipped question, and an
    answer about self-harm in it must reach the server (which asks for the rest itself)."""

    use_required_attribute = False

    def __init__(self, *args, survey: OutcomeSurvey, language: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.sections = []
        for measure in survey.measures.order_by("position").prefetch_related("items"):
            choices = [
                (str(o["value"]), o["label_es"] if language == "es" else o["label"]) for o in measure.options
            ]
            names = []
            for item in measure.items.all():
                name = f"{measure.code}-{item.number}"
                self.fields[name] = forms.ChoiceField(
                    label=f"{item.number}. {item.text_es if language == 'es' else item.text}",
                    choices=choices,
                    widget=forms.RadioSelect,
                    error_messages={"required": "—"},
                )
                names.append(name)
            if follow := measure.follow_up:
                # The form's unscored closing question: asked, never required.
                name = f"{measure.code}-follow"
                self.fields[name] = forms.TypedChoiceField(
                    label=follow["text_es"] if language == "es" else follow["text"],
                    choices=[
                        (str(o["value"]), o["label_es"] if language == "es" else o["label"])
                        for o in follow["options"]
                    ],
                    coerce=int,
                    empty_value=None,
                    required=False,
                    widget=forms.RadioSelect,
                )
                names.append(name)
            self.sections.append((measure, measure.in_language("instructions", language), names))

    def answers(self) -> dict[str, dict[int, int]]:
        out: dict[str, dict[int, int]] = {}
        for name, value in self.cleaned_data.items():
            code, number = name.rsplit("-", 1)
            if number == "follow" or value in (None, ""):
                continue
            out.setdefault(code, {})[int(number)] = int(value)
        return out

    def follow_ups(self) -> dict[str, int]:
        return {
            name.rsplit("-", 1)[0]: value
            for name, value in self.cleaned_data.items()
            if name.endswith("-follow") and value is not None
        }


def _language() -> str:
    return "es" if (get_language() or "en").startswith("es") else "en"


@route_access(Access.MEMBER)
@login_required
def survey(request: HttpRequest, token: str) -> HttpResponse:
    survey = _own_survey(request, token)
    if survey.status == OutcomeSurvey.Status.ANSWERED:
        return redirect("care:survey_results", token=token)
    language = _language()
    # Answers given before the help page came up wait, in the member's own session, for them
    # to finish: nobody has to answer the hardest question twice.
    draft_key = f"survey-draft-{survey.pk}"
    form = SurveyForm(
        request.POST if request.method == "POST" else None,
        survey=survey,
        language=language,
        initial=request.session.get(draft_key),
    )
    context = {
        "survey": survey,
        "group": survey.reservation.group,
        "form": form,
        "language": language,
        "closed": survey.status != OutcomeSurvey.Status.OPEN or survey.closes_at <= timezone.now(),
        "member_tz": request.user.zone,
    }
    if request.method == "POST":
        form.is_valid()  # the answers that are valid go on, even if one is missing
        try:
            result = survey_answer(
                survey=survey,
                member=request.user,
                answers=form.answers(),
                follow_ups=form.follow_ups(),
                request=request,
            )
        except (SurveyClosed, InvalidInput) as error:
            if error.extra.get("safety"):
                # An answer about self-harm reaches a person whatever else is wrong: the
                # alert is written; the member sees the help page first, then can finish.
                if isinstance(error, InvalidInput):
                    request.session[draft_key] = {
                        name: str(value)
                        for name, value in form.cleaned_data.items()
                        if value not in (None, "")
                    }
                return redirect("care:survey_support", token=token)
            if isinstance(error, SurveyClosed):
                context.update(closed=True, message=error.detail)
                return render(request, "care/survey.html", context, status=410)
            if not form.errors:
                form.add_error(None, error.detail)
            return render(request, "care/survey.html", context, status=400)
        request.session.pop(draft_key, None)
        if result.safety:
            return redirect("care:survey_support", token=token)
        return redirect("care:survey_results", token=token)
    if context["closed"]:
        return render(request, "care/survey.html", context, status=410)
    return render(request, "care/survey.html", context)


@route_access(Access.MEMBER)
@login_required
def survey_support(request: HttpRequest, token: str) -> HttpResponse:
    """Shown at once, before anything else, after an answer about thoughts of self-harm."""
    survey = _own_survey(request, token)
    unfinished = survey.status == OutcomeSurvey.Status.OPEN and survey.closes_at > timezone.now()
    return render(
        request,
        "care/survey_support.html",
        {
            "survey": survey,
            "results_path": survey_path(survey.pk) + "results/",
            "survey_path": survey_path(survey.pk),
            "unfinished": unfinished,
            "answered": survey.status == OutcomeSurvey.Status.ANSWERED,
        },
    )


@route_access(Access.MEMBER)
@login_required
def survey_results(request: HttpRequest, token: str) -> HttpResponse:
    """The member's own scores for this seat, each time they answered, with what they mean."""
    survey = _own_survey(request, token)
    language = _language()
    responses = list(
        MeasureResponse.objects.filter(survey__reservation=survey.reservation)
        .select_related("measure", "survey")
        .order_by("measure__position", "survey__opens_at")
    )
    rows = [
        {
            "measure": r.measure.code,
            "when": r.survey.get_time_point_display(),
            "total": r.total,
            "max": len(r.answers) * max(o["value"] for o in r.measure.options),
            "band": r.measure.bands[r.band]["label_es" if language == "es" else "label"],
        }
        for r in responses
    ]
    return render(
        request,
        "care/survey_results.html",
        {"survey": survey, "rows": rows, "group": survey.reservation.group},
    )


@route_access(Access.CLINICAL)
@login_required
def alert(request: HttpRequest, alert_id: int) -> HttpResponse:
    """The page a paged clinician opens from the text: who it is, how to reach them and
    someone close (tap to call), whether they get texts, what has happened so far, and one
    button to take it. The group's therapist, operations staff and whoever was paged see it;
    every look is audited."""
    found = (
        SafetyAlert.objects.select_related(
            "reservation__member", "reservation__group__therapist", "acknowledged_by"
        )
        .filter(pk=alert_id)
        .first()
    )
    if found is None or not may_see_alert(request.user, found):
        raise Http404
    if request.method == "POST":
        found, took = safety_alert_acknowledge(
            alert_id=found.pk, actor=request.user, via="link", request=request
        )
        if took:
            messages.success(request, "It is yours: the pages have stopped. Call the member now.")
        else:
            messages.info(request, "Someone has already taken it.")
        return redirect("care:alert", alert_id=found.pk)
    member = found.reservation.member
    audit_record(actor=request.user, action="safety_alert.viewed", obj=found, request=request)
    intake = member_intake(member)
    # Times in the reader's zone: their place on the rota says where they are tonight.
    on_call = OnCallClinician.objects.filter(user=request.user).first()
    zone = on_call.zone if on_call is not None else viewer_zone(request)[0]
    with timezone.override(ZoneInfo(zone)):
        return render(
            request,
            "care/alert.html",
            {
                "alert": found,
                "member": member,
                "group": found.reservation.group,
                "phone": intake.phone if intake else "",
                "phone_shown": phone_display(intake.phone) if intake else "",
                "emergency": intake,
                "emergency_shown": phone_display(intake.emergency_phone) if intake else "",
                "texts": receives_texts(member),
                "pages": found.pages.select_related("recipient", "text", "call").order_by("step", "pk"),
                "steps": found.steps.order_by("step"),
                "open": found.status == SafetyAlert.Status.OPEN,
            },
        )
