"""The member's own intake, screening questions and telehealth consent through the API.

Only the member reads or changes their own (``/api/me/...``); a therapist sees them on the
roster, never here. Phone numbers come back in E.164.
"""

import datetime as dt

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import get_language
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from grouport.access import Access
from grouport.exceptions import NotFound
from grouport.states import OUTSIDE_US, STATE_CHOICES
from intake.forms import ZIP, question_label, question_options
from intake.models import ScreeningAnswer, ScreeningQuestion
from intake.phones import phone_e164
from intake.selectors import (
    consent_current,
    consent_signature,
    intake_gaps,
    member_intake,
    screening_questions,
)
from intake.services import IntakeData, consent_sign, intake_save

US_STATES = [code for code, _name in STATE_CHOICES if code != OUTSIDE_US]


def _language() -> str:
    return get_language() or "en"


class ChoiceSerializer(serializers.Serializer):
    value = serializers.CharField(help_text="What to send as the answer.")
    label = serializers.CharField(help_text="What to show, in the request's language.")


class QuestionSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    text = serializers.SerializerMethodField()
    kind = serializers.ChoiceField(choices=ScreeningQuestion.Kind.choices)
    choices = serializers.SerializerMethodField()

    def get_text(self, question) -> str:
        return question_label(question, _language())

    @extend_schema_field(ChoiceSerializer(many=True))
    def get_choices(self, question) -> list[dict]:
        return [{"value": v, "label": label} for v, label in question_options(question, _language())]


class AnswerSerializer(serializers.Serializer):
    question = serializers.IntegerField(min_value=1, max_value=2**31 - 1)
    answer = serializers.CharField(allow_blank=True, max_length=500)


class PhoneField(serializers.CharField):
    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        try:
            return phone_e164(value)
        except ValidationError as error:
            raise serializers.ValidationError(error.messages) from None


class IntakeSerializer(serializers.Serializer):
    """The member's intake. ``therapy`` false (skills groups only) needs the date of birth alone."""

    birth_date = serializers.DateField()
    phone = PhoneField(
        max_length=32, required=False, allow_blank=True, help_text="E.164 back (+12125550123)."
    )
    emergency_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    emergency_relationship = serializers.CharField(max_length=60, required=False, allow_blank=True)
    emergency_phone = PhoneField(max_length=32, required=False, allow_blank=True)
    address_line = serializers.CharField(max_length=200, required=False, allow_blank=True)
    address_city = serializers.CharField(max_length=100, required=False, allow_blank=True)
    address_state = serializers.ChoiceField(choices=US_STATES, required=False, allow_blank=True)
    address_postal_code = serializers.CharField(max_length=10, required=False, allow_blank=True)
    answers = AnswerSerializer(many=True, required=False)
    missing = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="What a therapy seat still needs: birth_date, contact, emergency_contact, address, stale, "
        "screening. Empty: nothing.",
    )
    confirmed_at = serializers.DateTimeField(read_only=True)

    def validate_birth_date(self, value):
        today = timezone.localdate()
        if value > today or value < dt.date(today.year - 120, 1, 1):
            raise serializers.ValidationError("Not a date of birth.")
        return value

    def validate_address_postal_code(self, value: str) -> str:
        if value and not ZIP.match(value.strip()):
            raise serializers.ValidationError("A 5-digit ZIP code.")
        return value.strip()


def _intake_answer(member) -> dict:
    intake = member_intake(member)
    answers = [
        {"question": q, "answer": a}
        for q, a in ScreeningAnswer.objects.filter(member=member).values_list("question_id", "answer")
    ]
    body: dict = {
        "answers": answers,
        "missing": intake_gaps(member=member, therapy=True, intake=intake).missing,
    }
    if intake is not None:
        body.update(
            {name: getattr(intake, name) for name in ("birth_date", *intake.THERAPY_FIELDS, "confirmed_at")}
        )
    return body


class IntakeApi(APIView):
    """Your own intake: what the clinic needs before a therapy seat. Only you (and, on the
    roster, your group's therapist and staff) can see it."""

    access = Access.MEMBER

    @extend_schema(responses={200: IntakeSerializer, 404: OpenApiResponse(description="no intake yet")})
    def get(self, request: Request) -> Response:
        if member_intake(request.user) is None:
            raise NotFound("No intake yet.", code="no_intake")
        return Response(IntakeSerializer(_intake_answer(request.user)).data)

    @extend_schema(
        request=IntakeSerializer,
        responses={
            200: IntakeSerializer,
            400: OpenApiResponse(description="invalid (per field), invalid_question or invalid_answer"),
        },
    )
    def put(self, request: Request) -> Response:
        body = IntakeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        kept = member_intake(request.user)
        fields = {}
        for name in IntakeData.__dataclass_fields__:
            if name == "birth_date":
                continue
            # Not sent: what was kept stays (a skills member sends only the date of birth).
            fields[name] = data[name].strip() if name in data else (getattr(kept, name) if kept else "")
        intake_save(
            member=request.user,
            data=IntakeData(birth_date=data["birth_date"], **fields),
            answers={a["question"]: a["answer"] for a in data.get("answers", [])},
            request=request._request,
        )
        return Response(IntakeSerializer(_intake_answer(request.user)).data)


class QuestionListApi(APIView):
    """The screening questions asked now, in the request's language."""

    access = Access.MEMBER

    @extend_schema(responses=QuestionSerializer(many=True))
    def get(self, request: Request) -> Response:
        return Response(QuestionSerializer(screening_questions(), many=True).data)


class ConsentSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    text = serializers.CharField(help_text="In the request's language.")
    published_at = serializers.DateTimeField()
    signed_at = serializers.DateTimeField(
        allow_null=True, help_text="When you signed this version; null: not yet."
    )


class ConsentSignSerializer(serializers.Serializer):
    version = serializers.IntegerField(min_value=1, max_value=32767, help_text="The version you read.")
    signed_name = serializers.CharField(max_length=200, help_text="Your full name, typed: your signature.")


def _consent_answer(member) -> dict:
    current = consent_current()
    signature = consent_signature(member=member, version=current)
    return {
        "version": current.version,
        "text": current.body_in(_language()),
        "published_at": current.published_at,
        "signed_at": signature.signed_at if signature else None,
    }


class ConsentApi(APIView):
    """Today's consent to telehealth group treatment, and whether you signed it; sign it."""

    access = Access.MEMBER

    @extend_schema(responses=ConsentSerializer)
    def get(self, request: Request) -> Response:
        return Response(ConsentSerializer(_consent_answer(request.user)).data)

    @extend_schema(
        request=ConsentSignSerializer,
        responses={
            200: ConsentSerializer,
            400: OpenApiResponse(
                description="consent_updated (read the new version first) or signature_required"
            ),
        },
    )
    def post(self, request: Request) -> Response:
        body = ConsentSignSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        consent_sign(
            member=request.user,
            version=body.validated_data["version"],
            signed_name=body.validated_data["signed_name"],
            request=request._request,
        )
        return Response(ConsentSerializer(_consent_answer(request.user)).data)
