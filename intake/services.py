"""The duty of care before a seat: saving a member's intake and screening answers, signing
the telehealth consent, and the one check a seat asks (``intake_check_ready``).

Nothing here puts a value of the intake into an audit entry, a log line or a message: they
carry ids and the names of the fields that changed.
"""

import datetime as dt
import logging
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from grouport.audit import audit_record, client_ip
from grouport.exceptions import InvalidInput
from grouport.lock_objects import lock_member
from grouport.models import User
from grouport.outbox import outbox_add
from grouport.transitions import transition
from groups.eligibility import age_day, age_fits, age_on
from groups.models import Group
from groups.selectors import skills_alternatives
from intake.errors import AgeAboveRange, AgeOutOfRange, ConsentRequired, IntakeRequired
from intake.lock_objects import lock_screening_flag
from intake.models import (
    ConsentSignature,
    ConsentVersion,
    MemberIntake,
    ScreeningAnswer,
    ScreeningFlag,
    ScreeningQuestion,
)
from intake.selectors import (
    consent_current,
    consent_signature,
    intake_for_seat,
    intake_gaps,
    member_intake,
    screening_questions,
)

logger = logging.getLogger(__name__)

YES, NO = "yes", "no"


def answer_needs_clinician(question: ScreeningQuestion, answer: str) -> bool:
    """Whether ``answer`` is one the clinic marked as needing a clinician's eyes."""
    wanted = {line.strip().lower() for line in question.flags_on.splitlines() if line.strip()}
    given = (answer or "").strip()
    if not wanted or not given:
        return False
    if question.kind == ScreeningQuestion.Kind.TEXT:
        return "*" in wanted
    return given.lower() in wanted


def question_choices(question: ScreeningQuestion) -> list[str]:
    """The values a question takes (the English choices; yes/no for yes/no questions)."""
    if question.kind == ScreeningQuestion.Kind.YES_NO:
        return [YES, NO]
    if question.kind == ScreeningQuestion.Kind.CHOICE:
        return [line.strip() for line in question.choices.splitlines() if line.strip()]
    return []


def answer_check(question: ScreeningQuestion, answer: str) -> str:
    """Return ``answer`` cleaned, or raise ``InvalidInput`` naming the question."""
    given = (answer or "").strip()
    if question.kind == ScreeningQuestion.Kind.TEXT:
        if len(given) > 500:
            raise InvalidInput(_("An answer is too long (500 characters at most)."), code="invalid_answer")
        return given
    if given not in question_choices(question):
        raise InvalidInput(
            _("Question %(id)s: choose one of the answers offered.") % {"id": question.pk},
            code="invalid_answer",
        )
    return given


@dataclass
class IntakeData:
    """What a member tells the clinic (already validated by the form or serializer; phone
    numbers in E.164)."""

    birth_date: dt.date
    phone: str = ""
    emergency_name: str = ""
    emergency_relationship: str = ""
    emergency_phone: str = ""
    address_line: str = ""
    address_city: str = ""
    address_state: str = ""
    address_postal_code: str = ""


def intake_save(
    *,
    member: User,
    data: IntakeData,
    answers: dict[int, str] | None = None,
    now: dt.datetime | None = None,
    request=None,
) -> MemberIntake:
    """Keep ``member``'s intake (confirmed now) and their screening answers.

    An answer the clinic marked as needing a clinician opens a screening flag (one open at
    a time: a later such answer adds its question to it). The audit entry names the fields
    that changed, never their values.
    """
    now = now or timezone.now()
    answers = answers or {}
    questions = {q.pk: q for q in screening_questions()}
    cleaned = {}
    for question_id, answer in answers.items():
        question = questions.get(int(question_id))
        if question is None:
            raise InvalidInput(_("That question is not asked now."), code="invalid_question")
        cleaned[question.pk] = answer_check(question, answer)
    with transaction.atomic():
        lock_member(member.pk)
        intake = member_intake(member)
        changed: list[str] = []
        if intake is None:
            intake = MemberIntake(member=member, birth_date=data.birth_date)
            changed = ["created"]
        for name, value in vars(data).items():
            if getattr(intake, name) != value:
                if "created" not in changed:
                    changed.append(name)
                setattr(intake, name, value)
        intake.confirmed_at = now
        intake.save()
        flagged = _answers_save(member=member, answers=cleaned, questions=questions, now=now)
        audit_record(
            actor=member,
            action="intake.saved",
            obj=intake,
            # How many answers, never which ones needed a clinician (that is the answer itself).
            data={"changed": changed, "answered": len(cleaned)},
            request=request,
        )
        if flagged:
            screening_flag_raise(member=member, questions=flagged, now=now)
    logger.info("intake %s saved (%d answers)", intake.pk, len(cleaned))
    return intake


def _answers_save(
    *, member: User, answers: dict[int, str], questions: dict[int, ScreeningQuestion], now: dt.datetime
) -> list[int]:
    """Keep each answer (the newest replaces the one before); return the questions whose
    answers need a clinician and changed, or were asked again."""
    kept = {
        a.question_id: a for a in ScreeningAnswer.objects.filter(member=member, question_id__in=list(answers))
    }
    flagged = []
    for question_id, answer in answers.items():
        needs = answer_needs_clinician(questions[question_id], answer)
        row = kept.get(question_id)
        if row is None:
            ScreeningAnswer.objects.create(
                member=member, question_id=question_id, answer=answer, needs_clinician=needs, answered_at=now
            )
            changed = True
        else:
            reworded = questions[question_id].changed_at
            changed = row.answer != answer or (reworded is not None and row.answered_at < reworded)
            row.answer, row.needs_clinician, row.answered_at = answer, needs, now
            row.save(update_fields=["answer", "needs_clinician", "answered_at"])
        if needs and changed:
            flagged.append(question_id)
    return sorted(flagged)


def screening_flag_raise(*, member: User, questions: list[int], now: dt.datetime) -> ScreeningFlag:
    """Flag ``member``'s answers for a clinician: one open flag, which gathers the questions."""
    flag = ScreeningFlag.objects.filter(member=member, status=ScreeningFlag.Status.OPEN).first()
    if flag is not None:
        flag = lock_screening_flag(flag.pk)
        flag.questions = sorted(set(flag.questions) | set(questions))
        flag.save(update_fields=["questions", "updated_at"])
        audit_record(actor=member, action="screening_flag.updated", obj=flag, data={"member": member.pk})
        return flag
    try:
        with transaction.atomic():
            flag = ScreeningFlag.objects.create(member=member, questions=questions, created_at=now)
    except IntegrityError:  # raised a moment ago by a racing save (the member's lock makes it rare)
        return ScreeningFlag.objects.get(member=member, status=ScreeningFlag.Status.OPEN)
    audit_record(actor=member, action="screening_flag.opened", obj=flag, data={"member": member.pk})
    # A person hears of it at once, whether or not a seat is being reserved.
    outbox_add(kind="intake.screening_alert", payload={"flag": flag.pk}, key=f"screening-flag-{flag.pk}")
    return flag


def screening_flag_review(*, alert: ScreeningFlag, actor: User, note: str) -> ScreeningFlag:
    """A clinician looked at the answers and wrote down what was decided."""
    with transaction.atomic():
        flag = lock_screening_flag(alert.pk)
        flag.reviewed_by, flag.reviewed_at, flag.review_note = actor, timezone.now(), note
        transition(
            flag,
            to=ScreeningFlag.Status.REVIEWED,
            actor=actor,
            fields=("reviewed_by", "reviewed_at", "review_note"),
            data={"member": flag.member_id},
        )
    return flag


def screening_flag_open(member: User) -> bool:
    return ScreeningFlag.objects.filter(member=member, status=ScreeningFlag.Status.OPEN).exists()


def consent_sign(
    *,
    member: User,
    version: int,
    signed_name: str,
    now: dt.datetime | None = None,
    request=None,
    ip: str | None = None,
) -> ConsentSignature:
    """``member`` signs consent ``version`` (the one they read) by typing their full name.

    A version published while they read is not signed unseen; signing twice is one signature.
    """
    now = now or timezone.now()
    current = consent_current(now)
    if version != current.version:
        raise ConsentRequired(
            _("The consent was just updated. Please read it again before you sign it."),
            code="consent_updated",
            version=current.version,
        )
    name = " ".join((signed_name or "").split())
    if len(name) < 2 or len(name) > 200:
        raise InvalidInput(_("Type your full name to sign."), code="signature_required")
    existing = consent_signature(member=member, version=current)
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            signature = ConsentSignature.objects.create(
                member=member,
                version=current,
                signed_name=name,
                signed_at=now,
                ip_address=ip if ip is not None else client_ip(request),
            )
    except IntegrityError:
        return ConsentSignature.objects.get(member=member, version=current)
    audit_record(
        actor=member,
        action="consent.signed",
        obj=signature,
        data={"version": current.version},
        request=request,
    )
    return signature


def consent_check_signed(*, member: User, now: dt.datetime | None = None) -> ConsentVersion:
    """Raise ``ConsentRequired`` unless ``member`` signed today's consent; return it."""
    current = consent_current(now)
    if not ConsentSignature.objects.filter(member=member, version=current).exists():
        raise ConsentRequired(version=current.version)
    return current


def age_allows(*, intake: MemberIntake | None, group: Group, today: dt.date) -> bool:
    """Whether the age on ``intake`` fits ``group`` (an unknown age: asked when the seat is
    taken, so not a reason to pass someone over)."""
    if intake is None or intake.birth_date is None:
        return True
    day = age_day(first_session_on=group.first_session_on, today=today)
    return age_fits(
        age=age_on(birth_date=intake.birth_date, day=day), min_age=group.min_age, max_age=group.max_age
    )


def member_age(*, member: User, group: Group, today: dt.date) -> int | None:
    intake = member_intake(member)
    if intake is None or intake.birth_date is None:
        return None
    return age_on(
        birth_date=intake.birth_date, day=age_day(first_session_on=group.first_session_on, today=today)
    )


def intake_check_ready(*, member: User, group: Group, now: dt.datetime | None = None) -> None:
    """Raise unless ``member`` has given what ``group`` needs before a seat.

    Every group asks the age (its range, adults by default): someone outside it is told
    kindly, with the groups meant for them and 988 (``too_young``). A therapy group also
    needs a complete, fresh intake and answered screening (``intake_required``, naming what
    is missing), and today's telehealth consent signed (``consent_required``).
    """
    now = now or timezone.now()
    therapy = group.kind == Group.Kind.THERAPY
    # A therapy seat also needs today's consent signed: asked with the intake, in one query.
    current = consent_current(now) if therapy else None
    intake = intake_for_seat(member=member, consent=current) if therapy else member_intake(member)
    gaps = intake_gaps(member=member, therapy=therapy, intake=intake, now=now)
    if "birth_date" in gaps.missing:
        raise IntakeRequired(missing=gaps.missing)
    today = timezone.localdate(now)
    age = age_on(
        birth_date=intake.birth_date, day=age_day(first_session_on=group.first_session_on, today=today)
    )
    if not age_fits(age=age, min_age=group.min_age, max_age=group.max_age):
        alternatives = [
            {"id": g.pk, "slug": g.slug, "title": g.title}
            for g in skills_alternatives(
                exclude=[group.pk], age=age_on(birth_date=intake.birth_date, day=today)
            )
        ]
        error = AgeOutOfRange if age < group.min_age else AgeAboveRange
        raise error(None if alternatives else error.detail_without_groups, alternatives=alternatives)
    if gaps:
        raise IntakeRequired(missing=gaps.missing)
    if therapy and not intake.consent_signed:
        raise ConsentRequired(version=current.version)


def answers_without_flags() -> dict[int, str]:
    """An answer to every question asked now that needs no clinician (demo data, benchmarks,
    tests): for yes/no and choice questions the first answer not marked, blank for text."""
    answers = {}
    for question in screening_questions():
        flags = {line.strip().lower() for line in question.flags_on.splitlines()}
        options = [c for c in question_choices(question) if c.lower() not in flags]
        answers[question.pk] = options[0] if options else ""
    return answers
