"""Measured outcomes: PHQ-9 and GAD-7 at the start, middle and end of each program, with a
safety net under the one question about thoughts of self-harm.

When: a baseline when a seat is confirmed (open until the first session ends, or two days for
someone who joins late; answering is never required to join), then at the start of the
program's midpoint session (week 4 of 8, 6 of 12) and of its last session, each open for
``OUTCOME_OPEN_DAYS``. The periodic job creates each member's questionnaire once per time point
(a unique row is the claim, as for reminders) and emails a personal link from the outbox.

The safety net: an answer above "Not at all" to PHQ-9 item 9 opens a ``SafetyAlert`` in the
same transaction as the answers. The member sees the crisis page before anything else; the
group's therapist and the on-call address are emailed from the outbox (within a minute: at
once after the commit, or by the sweep); the roster shows it until a clinician reviews it.
"""

import datetime as dt
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from enrollment.measures import InvalidAnswers, score
from enrollment.models import Measure, MeasureResponse, OutcomeSurvey, Reservation, SafetyAlert
from grouport.audit import audit_record
from grouport.exceptions import Conflict, InvalidInput
from grouport.models import User
from grouport.outbox import outbox_add
from grouport.transitions import transition, transition_rows
from groups.models import GroupSession

logger = logging.getLogger(__name__)

BASELINE_GRACE = dt.timedelta(days=2)


class SurveyClosed(Conflict):
    code = "questionnaire_closed"
    default_detail = _("These questions are closed now. Thank you: the next ones will come by email.")


@dataclass(frozen=True)
class SurveyResult:
    survey: OutcomeSurvey
    responses: list[MeasureResponse]
    safety: bool


def midpoint_week(weeks: int) -> int | None:
    """The session where a program's midpoint questions are asked: week 4 of 8, 6 of 12."""
    middle = weeks // 2
    return middle if 1 < middle < weeks else None


def survey_windows(
    *, reservation: Reservation, sessions: list[GroupSession]
) -> list[tuple[str, dt.datetime, dt.datetime]]:
    """(time point, opens at, closes at) for one confirmed seat, from its group's sessions."""
    if not sessions or reservation.confirmed_at is None:
        return []
    by_number = {s.number: s for s in sessions}
    first, last = sessions[0], sessions[-1]
    open_for = dt.timedelta(days=settings.OUTCOME_OPEN_DAYS)
    joined = reservation.confirmed_at
    windows = [(OutcomeSurvey.TimePoint.BASELINE, joined, max(first.ends_at, joined + BASELINE_GRACE))]
    middle = midpoint_week(len(sessions))
    if middle is not None and middle in by_number and by_number[middle].starts_at > joined:
        windows.append(
            (
                OutcomeSurvey.TimePoint.MIDPOINT,
                by_number[middle].starts_at,
                by_number[middle].starts_at + open_for,
            )
        )
    if last.number != first.number and last.starts_at > joined:
        windows.append((OutcomeSurvey.TimePoint.END, last.starts_at, last.starts_at + open_for))
    return windows


def surveys_schedule(*, now: dt.datetime | None = None) -> list[int]:
    """Create the questionnaires that are due now and email their links; return their ids.

    Run twice, or by two workers at once, it creates each one once: (seat, time point) is
    unique, and the email is an outbox message keyed by the questionnaire.
    """
    now = now or timezone.now()
    measures = list(Measure.objects.filter(active=True))
    if not measures:
        logger.warning("no active outcome measures: no questionnaires opened")
        return []
    horizon = now - dt.timedelta(days=settings.OUTCOME_OPEN_DAYS)
    seats = list(
        Reservation.objects.filter(status=Reservation.Status.CONFIRMED, group__last_session_at__gte=horizon)
        .select_related("group")
        .order_by("pk")
    )
    done = set(
        OutcomeSurvey.objects.filter(reservation__in=seats).values_list("reservation_id", "time_point")
    )
    sessions: dict[int, list[GroupSession]] = {}
    for s in GroupSession.objects.filter(group_id__in={r.group_id for r in seats}).order_by("number"):
        sessions.setdefault(s.group_id, []).append(s)
    created = []
    for reservation in seats:
        for point, opens_at, closes_at in survey_windows(
            reservation=reservation, sessions=sessions.get(reservation.group_id, [])
        ):
            if (reservation.pk, point) in done or not (opens_at <= now < closes_at):
                continue
            try:
                with transaction.atomic():
                    survey = OutcomeSurvey.objects.create(
                        reservation=reservation,
                        time_point=point,
                        opens_at=opens_at,
                        closes_at=closes_at,
                        created_at=now,
                    )
                    survey.measures.set(measures)
                    outbox_add(
                        kind="enrollment.survey_invitation",
                        payload={"survey": survey.pk},
                        key=f"survey-invitation-{survey.pk}",
                    )
            except IntegrityError:
                continue  # another run created it a moment ago
            created.append(survey.pk)
    if created:
        logger.info("%d outcome questionnaires opened", len(created))
    return created


def surveys_expire(*, now: dt.datetime | None = None) -> int:
    """Close the questionnaires nobody answered in time (they count as not answered)."""
    now = now or timezone.now()
    return transition_rows(
        OutcomeSurvey.objects.filter(status=OutcomeSurvey.Status.OPEN, closes_at__lte=now),
        old=OutcomeSurvey.Status.OPEN,
        to=OutcomeSurvey.Status.EXPIRED,
        now=now,
    )


def survey_answer(
    *,
    survey: OutcomeSurvey,
    member: User,
    answers: dict[str, dict[int, int]],
    now: dt.datetime | None = None,
    request=None,
) -> SurveyResult:
    """Record ``member``'s answers (measure code → item number → value) to ``survey``.

    Once only: a second submit (another tab, a double tap) finds it answered and changes
    nothing. An answer that needs a person opens a safety alert in the same transaction.
    """
    now = now or timezone.now()
    with transaction.atomic():
        survey = OutcomeSurvey.objects.select_for_update().select_related("reservation").get(pk=survey.pk)
        if survey.reservation.member_id != member.pk:
            raise InvalidInput("Not your questionnaire.", code="not_found")
        if survey.status == OutcomeSurvey.Status.ANSWERED:
            responses = list(survey.responses.select_related("measure"))
            return SurveyResult(survey, responses, any(hasattr(r, "safety_alert") for r in responses))
        if survey.status != OutcomeSurvey.Status.OPEN or now >= survey.closes_at:
            raise SurveyClosed()
        responses, safety = [], []
        for measure in survey.measures.order_by("position"):
            items = measure.items.count()
            try:
                scored = score(
                    items=items,
                    options=measure.options,
                    bands=measure.bands,
                    safety_item=measure.safety_item,
                    answers=answers.get(measure.code, {}),
                )
            except InvalidAnswers as error:
                raise InvalidInput(
                    _("Please answer every question."), code="incomplete", errors={measure.code: [str(error)]}
                ) from None
            response = MeasureResponse.objects.create(
                survey=survey,
                measure=measure,
                answers={str(k): v for k, v in sorted(answers[measure.code].items())},
                total=scored.total,
                band=scored.band,
                created_at=now,
            )
            responses.append(response)
            if scored.safety:
                safety.append(response)
        survey.answered_at = now
        transition(survey, to=OutcomeSurvey.Status.ANSWERED, actor=member, fields=("answered_at",))
        for response in safety:
            alert = SafetyAlert.objects.create(
                response=response, reservation=survey.reservation, created_at=now
            )
            audit_record(
                actor=member,
                action="safety_alert.opened",
                obj=alert,
                data={"survey": survey.pk},
                request=request,
            )
            outbox_add(
                kind="enrollment.safety_alert", payload={"alert": alert.pk}, key=f"safety-alert-{alert.pk}"
            )
    logger.info("questionnaire %s answered%s", survey.pk, " (safety alert)" if safety else "")
    return SurveyResult(survey, responses, bool(safety))


def safety_alert_review(*, alert: SafetyAlert, actor: User, note: str, request=None) -> SafetyAlert:
    """A clinician looked: what they did goes in the note, and the flag leaves the roster."""
    if not note.strip():
        raise InvalidInput("Write what was done (a call, a plan).", code="note_required")
    with transaction.atomic():
        alert = SafetyAlert.objects.select_for_update().get(pk=alert.pk)
        if alert.status != SafetyAlert.Status.OPEN:
            return alert
        alert.reviewed_by, alert.reviewed_at, alert.review_note = actor, timezone.now(), note.strip()
        transition(
            alert,
            to=SafetyAlert.Status.REVIEWED,
            actor=actor,
            fields=("reviewed_by", "reviewed_at", "review_note"),
        )
    return alert
