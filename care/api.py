"""A member's outcome questionnaires through the API: list, read the questions, answer.
Only the member sees their own; someone else's token is a 404."""

import re

from django.db.models import Prefetch
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from care.links import BadSurveyToken, survey_token, survey_token_read, survey_url
from care.models import MeasureResponse, OutcomeSurvey
from care.services import SurveyClosed, survey_answer
from grouport.access import Access
from grouport.exceptions import InvalidInput, NotFound


def _spanish() -> bool:
    return (get_language() or "en").startswith("es")


def crisis_help() -> dict:
    """What the member's help page says, for an app to show first: the same words, translated."""
    return {
        "call": "tel:988",
        "text": "sms:988",
        "spanish": "Llame al 988 y marque 2, o envíe AYUDA al 988.",
        "emergency": "tel:911",
        "message": _("Call or text 988 (for Spanish, press 2). In an emergency, call 911."),
        "next": _(
            "Your therapist and our on-call clinician have been told that you may need support, and "
            "someone will contact you soon, usually today. This is not an emergency service: if you "
            "need help before then, use the numbers above."
        ),
    }


class CrisisSerializer(serializers.Serializer):
    call = serializers.CharField()
    text = serializers.CharField()
    spanish = serializers.CharField()
    emergency = serializers.CharField()
    message = serializers.CharField()
    next = serializers.CharField(help_text="What happens next: who was told.")


class ScoreSerializer(serializers.Serializer):
    measure = serializers.CharField()
    total = serializers.IntegerField()
    band = serializers.CharField(help_text="The severity band, in the member's language.")


class SurveySerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    time_point = serializers.ChoiceField(choices=OutcomeSurvey.TimePoint.choices)
    status = serializers.ChoiceField(choices=OutcomeSurvey.Status.choices)
    opens_at = serializers.DateTimeField()
    closes_at = serializers.DateTimeField()
    token = serializers.SerializerMethodField(help_text="For /api/questionnaires/<token>/.")
    url = serializers.SerializerMethodField(help_text="The member's own web page for it.")
    scores = serializers.SerializerMethodField()

    def get_token(self, survey: OutcomeSurvey) -> str:
        return survey_token(survey.pk)

    def get_url(self, survey: OutcomeSurvey) -> str:
        return survey_url(survey.pk)

    @extend_schema_field(ScoreSerializer(many=True))
    def get_scores(self, survey: OutcomeSurvey) -> list[dict]:
        key = "label_es" if _spanish() else "label"
        # ``survey_scored`` fetched them for a whole list at once.
        return [
            {"measure": r.measure.code, "total": r.total, "band": r.measure.bands[r.band][key]}
            for r in survey.responses.all()
        ]


class OptionSerializer(serializers.Serializer):
    value = serializers.IntegerField()
    label = serializers.CharField()


class ItemSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    text = serializers.CharField()


class FollowUpSerializer(serializers.Serializer):
    text = serializers.CharField()
    options = OptionSerializer(many=True)


class MeasureSerializer(serializers.Serializer):
    code = serializers.CharField()
    instructions = serializers.CharField()
    options = OptionSerializer(many=True)
    items = ItemSerializer(many=True)
    follow_up = FollowUpSerializer(
        allow_null=True, help_text="An unscored closing question, optional (answer it in `follow_up`)."
    )


class QuestionsSerializer(SurveySerializer):
    measures = MeasureSerializer(many=True, help_text="In the member's language.")


class AnsweredSerializer(SurveySerializer):
    safety = serializers.BooleanField(help_text="An answer needs a person: show `crisis` first.")
    crisis = CrisisSerializer(required=False, help_text="Present when `safety` is true.")


class AnswerErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="incomplete, invalid or questionnaire_closed")
    detail = serializers.CharField()
    safety = serializers.BooleanField(
        required=False,
        help_text="An answer about self-harm was in it: the care team was told; show `crisis` first. "
        "Absent when the request was refused before its answers were read.",
    )
    crisis = CrisisSerializer(required=False)
    errors = serializers.DictField(required=False, help_text="What is wrong, by measure or field.")


class AnswersSerializer(serializers.Serializer):
    answers = serializers.DictField(
        child=serializers.DictField(child=serializers.IntegerField()),
        help_text='{"PHQ-9": {"1": 0, ..., "9": 0}, "GAD-7": {"1": 0, ..., "7": 0}}',
    )
    follow_up = serializers.DictField(
        child=serializers.IntegerField(),
        required=False,
        help_text='Optional answers to the unscored closing questions: {"PHQ-9": 1}.',
    )


def _own(request: Request, token: str) -> OutcomeSurvey:
    try:
        survey_id = survey_token_read(token)
    except BadSurveyToken:
        raise NotFound(_("Not a questionnaire link.")) from None
    survey = OutcomeSurvey.objects.filter(pk=survey_id, reservation__member=request.user).first()
    if survey is None:
        raise NotFound(_("Not a questionnaire link."))
    return survey


ITEM_NUMBER = re.compile(r"[1-9][0-9]{0,2}")


def _answers(raw: dict) -> dict[str, dict[int, int]]:
    """Item numbers written plainly ("9", not "09" or " 9"): two spellings of one item would
    let one answer hide another."""
    answers: dict[str, dict[int, int]] = {}
    for code, items in raw.items():
        answers[code] = {}
        for number, value in items.items():
            # ASCII digits only: "²" and "٩" are digits to str.isdigit() but not to int().
            if not ITEM_NUMBER.fullmatch(number):
                raise InvalidInput(
                    _("Item numbers are whole numbers written plainly, like 1 or 9."), code="invalid"
                )
            answers[code][int(number)] = int(value)
    return answers


class SurveyListApi(APIView):
    """Your questionnaires (open, answered, closed), with your scores."""

    access = Access.MEMBER

    @extend_schema(responses=SurveySerializer(many=True))
    def get(self, request: Request) -> Response:
        surveys = (
            OutcomeSurvey.objects.filter(reservation__member=request.user)
            .order_by("opens_at")
            .prefetch_related(
                Prefetch("responses", queryset=MeasureResponse.objects.select_related("measure"))
            )
        )
        return Response(SurveySerializer(surveys, many=True).data)


class SurveyApi(APIView):
    """One of your questionnaires: its questions (GET, in your language), your answers (POST).

    When an answer needs a person (PHQ-9 item 9 above "Not at all"), the answer carries
    ``safety: true`` and ``crisis`` (show it first); so does the error when the answers could
    not be kept (closed meanwhile, a question skipped): the care team is told either way."""

    access = Access.MEMBER

    @extend_schema(responses=QuestionsSerializer)
    def get(self, request: Request, token: str) -> Response:
        survey = _own(request, token)
        spanish = _spanish()
        measures = [
            {
                "code": m.code,
                "instructions": m.instructions_es if spanish else m.instructions,
                "options": [
                    {"value": o["value"], "label": o["label_es"] if spanish else o["label"]}
                    for o in m.options
                ],
                "items": [
                    {"number": i.number, "text": i.text_es if spanish else i.text} for i in m.items.all()
                ],
                "follow_up": {
                    "text": m.follow_up["text_es"] if spanish else m.follow_up["text"],
                    "options": [
                        {"value": o["value"], "label": o["label_es"] if spanish else o["label"]}
                        for o in m.follow_up["options"]
                    ],
                }
                if m.follow_up
                else None,
            }
            for m in survey.measures.order_by("position").prefetch_related("items")
        ]
        return Response({**SurveySerializer(survey).data, "measures": measures})

    @extend_schema(
        request=AnswersSerializer,
        responses={
            200: AnsweredSerializer,
            400: OpenApiResponse(AnswerErrorSerializer, description="incomplete or invalid answers"),
            409: OpenApiResponse(AnswerErrorSerializer, description="the questionnaire closed"),
        },
    )
    def post(self, request: Request, token: str) -> Response:
        survey = _own(request, token)
        body = AnswersSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        answers = _answers(body.validated_data["answers"])
        try:
            result = survey_answer(
                survey=survey,
                member=request.user,
                answers=answers,
                follow_ups=body.validated_data.get("follow_up", {}),
                request=request._request,
            )
        except (SurveyClosed, InvalidInput) as error:
            if error.extra.get("safety"):
                error.extra["crisis"] = crisis_help()
            raise
        payload = SurveySerializer(result.survey).data
        # Before anything else, when an answer needs it: where help is, now.
        return Response(
            {"safety": result.safety, **({"crisis": crisis_help()} if result.safety else {}), **payload}
        )
