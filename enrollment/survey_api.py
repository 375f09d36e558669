"""A member's outcome questionnaires through the API: list, read the questions, answer.
Only the member sees their own; someone else's token is a 404."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from enrollment.join import BadJoinToken, survey_token_read, survey_url
from enrollment.models import OutcomeSurvey
from enrollment.services.outcomes import survey_answer
from grouport.exceptions import InvalidInput, NotFound

CRISIS = "Call or text 988 (Spanish: call 988 and press 2). In an emergency, call 911."


class SurveySerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    time_point = serializers.CharField()
    status = serializers.CharField()
    opens_at = serializers.DateTimeField()
    closes_at = serializers.DateTimeField()
    url = serializers.SerializerMethodField(help_text="The member's own link (page and API).")
    scores = serializers.SerializerMethodField()

    def get_url(self, survey: OutcomeSurvey) -> str:
        return survey_url(survey.pk)

    def get_scores(self, survey: OutcomeSurvey) -> list[dict]:
        return [
            {"measure": r.measure.code, "total": r.total, "band": r.band_label}
            for r in survey.responses.select_related("measure")
        ]


class AnswersSerializer(serializers.Serializer):
    answers = serializers.DictField(
        child=serializers.DictField(child=serializers.IntegerField()),
        help_text='{"PHQ-9": {"1": 0, ..., "9": 0}, "GAD-7": {"1": 0, ..., "7": 0}}',
    )


def _own(request: Request, token: str) -> OutcomeSurvey:
    try:
        survey_id = survey_token_read(token)
    except BadJoinToken:
        raise NotFound("Not a questionnaire link.") from None
    survey = OutcomeSurvey.objects.filter(pk=survey_id, reservation__member=request.user).first()
    if survey is None:
        raise NotFound("Not a questionnaire link.")
    return survey


class SurveyListApi(APIView):
    """Your questionnaires (open, answered, closed), with your scores."""

    @extend_schema(responses=SurveySerializer(many=True))
    def get(self, request: Request) -> Response:
        surveys = OutcomeSurvey.objects.filter(reservation__member=request.user).order_by("opens_at")
        return Response(SurveySerializer(surveys, many=True).data)


class SurveyApi(APIView):
    """One of your questionnaires: its questions (GET, in your language), your answers (POST)."""

    @extend_schema(responses={200: None})
    def get(self, request: Request, token: str) -> Response:
        survey = _own(request, token)
        spanish = (request.LANGUAGE_CODE or "en").startswith("es")
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
            }
            for m in survey.measures.order_by("position").prefetch_related("items")
        ]
        return Response({**SurveySerializer(survey).data, "measures": measures})

    @extend_schema(request=AnswersSerializer, responses={200: SurveySerializer})
    def post(self, request: Request, token: str) -> Response:
        survey = _own(request, token)
        body = AnswersSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            answers = {
                code: {int(n): int(v) for n, v in items.items()}
                for code, items in body.validated_data["answers"].items()
            }
        except ValueError:
            raise InvalidInput("Item numbers are whole numbers.", code="invalid") from None
        result = survey_answer(survey=survey, member=request.user, answers=answers, request=request._request)
        payload = SurveySerializer(result.survey).data
        # Before anything else, when an answer needs it: where help is, now.
        return Response({"safety": result.safety, **({"crisis": CRISIS} if result.safety else {}), **payload})
