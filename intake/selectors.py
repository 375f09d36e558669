"""Reads of the duty-of-care records: the current consent, what a member's intake lacks."""

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.db import models
from django.db.models import Exists, F, OuterRef, Q, Value
from django.utils import timezone

from grouport.models import User
from grouport.versions import PublishedText
from groups.eligibility import age_on
from intake import consent_text
from intake.models import (
    ConsentSignature,
    ConsentVersion,
    MemberIntake,
    ScreeningAnswer,
    ScreeningFlag,
    ScreeningQuestion,
)
from intake.phones import phone_display

CONSENT = PublishedText(
    name="consent",
    model=ConsentVersion,
    first_version=lambda: {
        "version": consent_text.FIRST_VERSION,
        "body": consent_text.BODY,
        "body_es": consent_text.BODY_ES,
    },
)


def consent_current(now: dt.datetime | None = None) -> ConsentVersion:
    """The consent members sign now: the newest version published by ``now``, read once and
    cached until a version is saved or comes due (``grouport/versions.py``); version 1 ships
    with the code."""
    return CONSENT.current(now)


def consent_signature(*, member: User, version: ConsentVersion) -> ConsentSignature | None:
    return ConsentSignature.objects.filter(member=member, version=version).first()


def member_intake(member: User) -> MemberIntake | None:
    return MemberIntake.objects.filter(member=member).first()


def screening_questions() -> list[ScreeningQuestion]:
    return list(ScreeningQuestion.objects.filter(active=True).order_by("position", "pk"))


@dataclass(frozen=True)
class IntakeGaps:
    """What a member's intake lacks for a kind of group (empty: nothing)."""

    missing: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.missing)


def screening_due_for(member) -> models.QuerySet:
    """The questions asked now that ``member`` has not answered, or answered before they were
    reworded: the rule as a query, to ask on its own or inside another (``OuterRef``)."""
    answered = ScreeningAnswer.objects.filter(member=member, question=OuterRef("pk")).filter(
        Q(question__changed_at__isnull=True) | Q(answered_at__gte=F("question__changed_at"))
    )
    return ScreeningQuestion.objects.filter(active=True).exclude(Exists(answered))


def intake_for_seat(*, member: User, consent: ConsentVersion | None) -> MemberIntake | None:
    """The member's intake with what a seat asks beside it, in one query: whether a screening
    question is due (``screening_due``) and whether they signed ``consent`` (``consent_signed``)."""
    signed = ConsentSignature.objects.filter(member=member, version=consent) if consent else None
    return (
        MemberIntake.objects.filter(member=member)
        .annotate(
            screening_due=Exists(screening_due_for(member)),
            consent_signed=Exists(signed) if signed is not None else Value(False),
        )
        .first()
    )


def intake_gaps(
    *, member: User, therapy: bool, intake: MemberIntake | None = None, now: dt.datetime | None = None
) -> IntakeGaps:
    """What ``member``'s intake lacks before a seat: ``birth_date`` (every group asks the
    age), and for therapy the contact, emergency contact and usual address, ``stale`` (not
    confirmed within ``INTAKE_FRESH_DAYS``) and ``screening`` (a question unanswered, or
    reworded since the answer)."""
    now = now or timezone.now()
    intake = intake if intake is not None else member_intake(member)
    if intake is None:
        return IntakeGaps(
            ["birth_date", *(["contact", "emergency_contact", "address", "screening"] if therapy else [])]
        )
    missing: list[str] = []
    if intake.birth_date is None:
        missing.append("birth_date")
    if not therapy:
        return IntakeGaps(missing)
    if not intake.phone:
        missing.append("contact")
    if not (intake.emergency_name and intake.emergency_relationship and intake.emergency_phone):
        missing.append("emergency_contact")
    if not (
        intake.address_line and intake.address_city and intake.address_state and intake.address_postal_code
    ):
        missing.append("address")
    if intake.confirmed_at < now - dt.timedelta(days=settings.INTAKE_FRESH_DAYS):
        missing.append("stale")
    due = getattr(intake, "screening_due", None)  # asked with the intake (``intake_for_seat``)
    if due is None:
        due = screening_due_for(member).exists()
    if due:
        missing.append("screening")
    return IntakeGaps(missing)


@dataclass
class AnswerShown:
    question: str
    answer: str
    needs_clinician: bool


@dataclass
class IntakeSummary:
    """What a member's therapist and staff see of their intake (the roster, the review, the
    live view): a fixed handful of queries for any number of members (``intake_summaries``)."""

    member_id: int
    age: int | None = None
    birth_date: dt.date | None = None
    phone: str = ""
    emergency_contact: str = ""
    emergency_phone: str = ""
    usual_address: str = ""
    confirmed_at: dt.datetime | None = None
    answers: list[AnswerShown] = field(default_factory=list)
    consent_version: int | None = None
    consent_signed_at: dt.datetime | None = None
    consent_current: bool = False
    flag_id: int | None = None  # an open screening flag


def intake_summaries(member_ids: list[int], *, language: str = "en") -> dict[int, IntakeSummary]:
    """Each member's intake, answers, newest consent and open screening flag (five queries)."""
    today = timezone.localdate()
    ids = list(dict.fromkeys(member_ids))
    summaries = {pk: IntakeSummary(member_id=pk) for pk in ids}
    if not ids:
        return summaries
    for intake in MemberIntake.objects.filter(member_id__in=ids):
        s = summaries[intake.member_id]
        s.birth_date = intake.birth_date
        s.age = age_on(birth_date=intake.birth_date, day=today) if intake.birth_date else None
        s.phone = phone_display(intake.phone)
        if intake.emergency_name:
            s.emergency_contact = f"{intake.emergency_name} ({intake.emergency_relationship})"
        s.emergency_phone = phone_display(intake.emergency_phone)
        s.usual_address = intake.usual_address
        s.confirmed_at = intake.confirmed_at
    spanish = language.startswith("es")
    for answer in (
        ScreeningAnswer.objects.filter(member_id__in=ids)
        .select_related("question")
        .order_by("question__position", "question_id")
    ):
        text = answer.question.text_es if spanish and answer.question.text_es else answer.question.text
        summaries[answer.member_id].answers.append(AnswerShown(text, answer.answer, answer.needs_clinician))
    current = consent_current()
    for signature in (
        ConsentSignature.objects.filter(member_id__in=ids)
        .select_related("version")
        .order_by("member_id", "-version__version")
    ):
        s = summaries[signature.member_id]
        if s.consent_version is None:
            s.consent_version, s.consent_signed_at = signature.version.version, signature.signed_at
            s.consent_current = signature.version_id == current.pk
    for member_id, flag_id in ScreeningFlag.objects.filter(
        member_id__in=ids, status=ScreeningFlag.Status.OPEN
    ).values_list("member_id", "pk"):
        summaries[member_id].flag_id = flag_id
    return summaries
