"""A member's own text reminders through the API: read, and turn on or off."""

from django.utils.translation import get_language
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from grouport.access import Access
from texting import words
from texting.models import TextSubscription
from texting.services import number_stopped, subscription_of, subscription_set, subscription_state


class TextsSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=TextSubscription.Status.choices,
        help_text="on: reminders are texted; off: never on, or turned off; stopped: the number replied STOP.",
    )
    phone = serializers.CharField(help_text="The mobile number, E.164; empty when none was given.")
    agreed_at = serializers.DateTimeField(allow_null=True)
    number_stopped = serializers.BooleanField(
        help_text="The number replied STOP: reply START before turning texts on."
    )
    opt_in_words = serializers.CharField(
        help_text="What the member agrees to by turning texts on, in the request's language."
    )


class TextsChangeSerializer(serializers.Serializer):
    receive = serializers.BooleanField(
        help_text="true turns text reminders on (with the words of opt_in_words), false off."
    )
    phone = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=32,
        help_text="The mobile number; required to turn texts on the first time.",
    )


def _answer(member) -> dict:
    subscription = subscription_of(member)
    phone = subscription.phone if subscription else ""
    return {
        "status": subscription_state(subscription),
        "phone": phone,
        "agreed_at": subscription.agreed_at if subscription else None,
        "number_stopped": bool(phone) and number_stopped(phone),
        "opt_in_words": words.opt_in_words(get_language()),
    }


class TextsApi(APIView):
    """Your text reminders: whether they are on, the number, when you agreed, and the words
    turning them on agrees to (in the request's language; the words you agreed to are kept)."""

    access = Access.MEMBER

    @extend_schema(responses=TextsSerializer)
    def get(self, request: Request) -> Response:
        return Response(TextsSerializer(_answer(request.user)).data)

    @extend_schema(
        request=TextsChangeSerializer,
        responses={
            200: TextsSerializer,
            400: OpenApiResponse(
                description=(
                    "phone (not a US mobile number), number_stopped (reply START first) or "
                    "too_many_changes (turned on or changed three times today)"
                )
            ),
        },
    )
    def put(self, request: Request) -> Response:
        body = TextsChangeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        subscription_set(
            member=request.user,
            receive=body.validated_data["receive"],
            phone=body.validated_data.get("phone", ""),
            language=get_language(),
            request=request._request,
        )
        return Response(TextsSerializer(_answer(request.user)).data)
