"""The member's intake and consent pages: seen and corrected by the member at any time
(linked from the profile), and asked on the way to a seat that needs them."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from grouport.access import Access, route_access
from grouport.exceptions import DomainError
from intake.forms import ConsentForm, IntakeForm
from intake.models import ScreeningAnswer
from intake.selectors import (
    consent_current,
    consent_signature,
    intake_gaps,
    member_intake,
    screening_questions,
)
from intake.services import consent_sign, intake_save


def _safe_next(request: HttpRequest) -> str:
    """Where to go after saving: a page of this site, or nowhere."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return ""


def _next_or(request: HttpRequest, fallback: str) -> HttpResponse:
    return redirect(_safe_next(request) or fallback)


@route_access(Access.MEMBER)
@login_required
def intake_edit(request: HttpRequest) -> HttpResponse:
    """The member's intake: asked before a seat, seen and corrected here at any time. A
    skills group asks only the date of birth (``?kind=skills``)."""
    member = request.user
    intake = member_intake(member)
    therapy = request.GET.get("kind") != "skills" or (intake is not None and bool(intake.phone))
    answers = dict(ScreeningAnswer.objects.filter(member=member).values_list("question_id", "answer"))
    form = IntakeForm(
        request.POST or None, therapy=therapy, questions=screening_questions(), intake=intake, answers=answers
    )
    if request.method == "POST" and form.is_valid():
        try:
            intake_save(member=member, data=form.intake_data(), answers=form.answers(), request=request)
        except DomainError as error:
            form.add_error(None, str(error.detail))
        else:
            messages.success(request, _("Thank you. Your details are saved."))
            return _next_or(request, "intake:intake")
    gaps = intake_gaps(member=member, therapy=therapy, intake=intake)
    return render(
        request,
        "intake/intake.html",
        {
            "form": form,
            "therapy": therapy,
            "next": _safe_next(request),
            "stale": "stale" in gaps.missing,
            "reasked": "screening" in gaps.missing and bool(answers),
            "intake": intake,
        },
        status=400 if form.is_bound and form.errors else 200,
    )


@route_access(Access.MEMBER)
@login_required
def consent(request: HttpRequest) -> HttpResponse:
    """Consent to telehealth group treatment: today's version, signed by typing one's name."""
    current = consent_current()
    signed = consent_signature(member=request.user, version=current)
    form = ConsentForm(request.POST or None, initial={"version": current.version})
    if request.method == "POST" and form.is_valid():
        try:
            consent_sign(
                member=request.user,
                version=form.cleaned_data["version"],
                signed_name=form.cleaned_data["signed_name"],
                request=request,
            )
        except DomainError as error:
            form.add_error(None, str(error.detail))
            current = consent_current()
            form.data = {**form.data.dict(), "version": current.version}
        else:
            messages.success(request, _("Thank you. Your consent is signed."))
            return _next_or(request, "intake:consent")
    earlier = request.user.consents.select_related("version").exclude(version=current).first()
    return render(
        request,
        "intake/consent.html",
        {
            "form": form,
            "consent": current,
            "text": current.body_in(get_language() or "en"),
            "signed": signed,
            "earlier": earlier,
            "next": _safe_next(request),
        },
        status=400 if form.is_bound and form.errors else 200,
    )
