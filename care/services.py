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
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from care.lock_objects import lock_safety_alert, lock_safety_alerts, lock_survey
from care.measures import InvalidAnswers, safety_answer, score
from care.models import Measure, MeasureResponse, OutcomeSurvey, SafetyAlert, SuperbillRequest, icd10_check
from care.oncall import alert_pages_start, alert_pages_withdraw
from enrollment.models import Reservation
from grouport.audit import audit_record
from grouport.exceptions import Conflict, InvalidInput
from grouport.models import User
from grouport.outbox import outbox_add
from grouport.transitions import transition, transition_rows
from groups.models import Group, GroupSession

logger = logging.getLogger(__name__)

BASELINE_GRACE = dt.timedelta(days=2)


class SurveyClosed(Conflict):
    code = "questionnaire_closed"
    default_detail = _(
        "These questions are closed now, so these answers could not be kept. "
        "Thank you for coming back to them."
    )


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
                        kind="care.survey_invitation",
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


def safety_answers_in(
    *, measures: list[Measure], answers: dict[str, dict[int, int]]
) -> dict[str, dict[str, int]]:
    """The answers to safety questions above their first option, whatever else was answered:
    ``{"PHQ-9": {"9": 2}}``. Empty when no answer needs a person."""
    found: dict[str, dict[str, int]] = {}
    for measure in measures:
        value = safety_answer(
            options=measure.options, safety_item=measure.safety_item, answers=answers.get(measure.code, {})
        )
        if value is not None:
            found[measure.code] = {str(measure.safety_item): value}
    return found


def survey_answer(
    *,
    survey: OutcomeSurvey,
    member: User,
    answers: dict[str, dict[int, int]],
    follow_ups: dict[str, int] | None = None,
    now: dt.datetime | None = None,
    request=None,
) -> SurveyResult:
    """Record ``member``'s answers (measure code → item number → value) to ``survey``, and
    the answers to any measure's unscored closing question (``follow_ups``: code → value;
    optional).

    Once only: a second submit (another tab, a double tap) finds it answered and changes
    nothing. An answer that needs a person opens a safety alert in the same transaction, and
    it does so even when the answers cannot be kept (the questionnaire closed while the page
    was open, or a question was skipped): the error raised then has ``safety=True`` and the
    alert is already written. Never into the void.
    """
    now = now or timezone.now()
    problem: Exception | None = None
    with transaction.atomic():
        survey = lock_survey(survey.pk)
        if survey.reservation.member_id != member.pk:
            raise InvalidInput("Not your questionnaire.", code="not_found")
        if survey.status == OutcomeSurvey.Status.ANSWERED:
            responses = list(survey.responses.select_related("measure"))
            return SurveyResult(survey, responses, survey.safety_alerts.exists())
        measures = list(survey.measures.order_by("position"))
        flagged = safety_answers_in(measures=measures, answers=answers)
        scored = {}
        for measure in measures:
            try:
                scored[measure.pk] = score(
                    items=measure.items.count(),
                    options=measure.options,
                    bands=measure.bands,
                    safety_item=measure.safety_item,
                    answers=answers.get(measure.code, {}),
                )
            except InvalidAnswers as error:
                problem = InvalidInput(
                    _("Please answer every question.")
                    if error.code == "incomplete"
                    else _("Please choose one of the answers offered."),
                    code=error.code,
                    errors={measure.code: [str(error)]},
                    safety=bool(flagged),
                )
                break
        follow_ups = {code: v for code, v in (follow_ups or {}).items() if v is not None}
        for measure in measures:
            allowed = {o["value"] for o in (measure.follow_up or {}).get("options", [])}
            if measure.code in follow_ups and follow_ups[measure.code] not in allowed and problem is None:
                problem = InvalidInput(
                    _("Please choose one of the answers offered."), code="invalid", safety=bool(flagged)
                )
        if survey.status != OutcomeSurvey.Status.OPEN or now >= survey.closes_at:
            problem = SurveyClosed(safety=bool(flagged))
        if problem is not None:
            if flagged:
                _safety_alert_open(
                    survey=survey, response=None, flagged=flagged, member=member, now=now, request=request
                )
        else:
            responses, alerts = [], []
            for measure in measures:
                result = scored[measure.pk]
                response = MeasureResponse.objects.create(
                    survey=survey,
                    measure=measure,
                    answers={str(k): v for k, v in sorted(answers[measure.code].items())},
                    total=result.total,
                    band=result.band,
                    follow_up=follow_ups.get(measure.code),
                    created_at=now,
                )
                responses.append(response)
                if result.safety:
                    alerts.append(response)
            survey.answered_at = now
            transition(survey, to=OutcomeSurvey.Status.ANSWERED, actor=member, fields=("answered_at",))
            for response in alerts:
                _safety_alert_open(
                    survey=survey,
                    response=response,
                    flagged={response.measure.code: flagged[response.measure.code]},
                    member=member,
                    now=now,
                    request=request,
                )
    if problem is not None:
        raise problem  # after the commit: the alert, if any, is written
    logger.info("questionnaire %s answered", survey.pk)
    return SurveyResult(survey, responses, bool(alerts))


def _safety_alert_open(
    *,
    survey: OutcomeSurvey,
    response: MeasureResponse | None,
    flagged: dict,
    member: User,
    now: dt.datetime,
    request=None,
) -> SafetyAlert:
    """One open alert per questionnaire: a first, unfinished try raises it (and emails the care
    team); the finished answers attach to it, not a second email. A new alert after a review."""
    alert = (
        lock_safety_alerts(SafetyAlert.objects.filter(survey=survey, status__in=SafetyAlert.UNREVIEWED))
        .order_by("pk")
        .first()
    )
    if alert is not None:
        if response is not None and alert.response_id is None:
            alert.response, alert.safety_answers = response, flagged
            alert.save(update_fields=["response", "safety_answers"])
        return alert
    alert = SafetyAlert.objects.create(
        survey=survey,
        response=response,
        safety_answers=flagged,
        reservation=survey.reservation,
        created_at=now,
    )
    audit_record(
        actor=member,
        action="safety_alert.opened",
        obj=alert,
        data={"survey": survey.pk, "answers_kept": response is not None},
        request=request,
    )
    outbox_add(kind="care.safety_alert", payload={"alert": alert.pk}, key=f"safety-alert-{alert.pk}")
    alert_pages_start(alert=alert, now=now)  # the on-call's phone rings, in this transaction
    return alert


def safety_alert_review(*, alert: SafetyAlert, actor: User, note: str) -> SafetyAlert:
    """A clinician looked: what they did goes in the note, and the flag leaves the roster."""
    if not note.strip():
        raise InvalidInput("Write what was done (a call, a plan).", code="note_required")
    with transaction.atomic():
        alert = lock_safety_alert(alert.pk)
        if alert.status not in SafetyAlert.UNREVIEWED:
            return alert
        now = timezone.now()
        alert.reviewed_by, alert.reviewed_at, alert.review_note = actor, now, note.strip()
        fields = ["reviewed_by", "reviewed_at", "review_note"]
        if alert.acknowledged_by_id is None:  # reviewed before anyone took it: the reviewer did
            alert.acknowledged_by, alert.acknowledged_at, alert.acknowledged_via = actor, now, "review"
            fields += ["acknowledged_by", "acknowledged_at", "acknowledged_via"]
        transition(alert, to=SafetyAlert.Status.REVIEWED, actor=actor, fields=tuple(fields))
        alert_pages_withdraw(alert)
    return alert


# --- Superbills (drawn by portal/superbills.py; the request and the diagnosis live here)


def superbill_request(
    *, reservation: Reservation, member: User, now: dt.datetime | None = None
) -> SuperbillRequest:
    """``member`` asks for a superbill for their therapy seat (once: asking again finds the
    request). The group's therapist and the care team are emailed a link (no names)."""
    if reservation.member_id != member.pk:
        raise InvalidInput(_("This is not your seat."), code="not_yours")
    if reservation.group.kind != Group.Kind.THERAPY:
        raise InvalidInput(
            _("Superbills are for therapy groups; skills groups are not billed to insurers."),
            code="not_therapy",
        )
    if reservation.status not in (Reservation.Status.CONFIRMED, Reservation.Status.CANCELLED):
        raise InvalidInput(_("A superbill is for a seat you have had."), code="no_seat")
    with transaction.atomic():
        request, made = SuperbillRequest.objects.get_or_create(
            reservation=reservation, defaults={"requested_at": now or timezone.now()}
        )
        if made:
            audit_record(
                actor=member, action="superbill.requested", obj=request, data={"reservation": reservation.pk}
            )
            outbox_add(
                kind="care.superbill_requested",
                payload={"request": request.pk},
                key=f"superbill-{request.pk}",
            )
    return request


def superbill_diagnose(
    *, request: SuperbillRequest, code: str, actor: User, http_request=None
) -> SuperbillRequest:
    """The group's therapist (or staff) gives the diagnosis code, once: a second, or two at
    once, change nothing (the first written wins; a correction is staff's, in the admin's
    history). Its shape is checked (ICD-10-CM); audited."""
    code = "".join(code.split()).upper()
    try:
        icd10_check(code)
    except ValidationError as error:
        raise InvalidInput(error.messages[0], code="diagnosis_code") from None
    with transaction.atomic():
        updated = SuperbillRequest.objects.filter(pk=request.pk, diagnosis_code="").update(
            diagnosis_code=code, diagnosis_by=actor, diagnosis_at=timezone.now()
        )
        request.refresh_from_db()
        if not updated:
            raise Conflict(_("The diagnosis code was given already."), code="diagnosis_given")
        audit_record(
            actor=actor,
            action="superbill.diagnosis_given",
            obj=request,
            data={"reservation": request.reservation_id},
            request=http_request,
        )
        outbox_add(
            kind="care.superbill_ready", payload={"request": request.pk}, key=f"superbill-ready-{request.pk}"
        )
    return request
