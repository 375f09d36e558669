"""Account API: a token for API clients, and the signed-in member's profile."""

from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from grouport.exceptions import InvalidInput
from grouport.forms import ProfileForm
from grouport.models import User
from grouport.services import member_profile_update
from grouport.states import STATE_CHOICES, TIME_ZONE_CHOICES


class TokenRequestSerializer(serializers.Serializer):
    email = serializers.EmailField()
    password = serializers.CharField(trim_whitespace=False, style={"input_type": "password"})


class LoginThrottle(AnonRateThrottle):
    rate = "10/min"


class TokenApi(APIView):
    """Exchange an email and password for an API token (one error for any wrong pair)."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [LoginThrottle]

    @extend_schema(
        request=TokenRequestSerializer,
        responses=inline_serializer("TokenResponse", {"token": serializers.CharField()}),
    )
    def post(self, request: Request) -> Response:
        serializer = TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = authenticate(
            request._request,
            email=serializer.validated_data["email"],
            password=serializer.validated_data["password"],
        )
        if user is None or not user.is_active:
            # The same answer for an unknown email and a wrong password: no account enumeration.
            raise InvalidInput("Email or password is not correct.", code="invalid_credentials")
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


class MeSerializer(serializers.ModelSerializer):
    state = serializers.ChoiceField(choices=STATE_CHOICES)
    time_zone = serializers.ChoiceField(choices=TIME_ZONE_CHOICES, allow_blank=True, required=False)

    class Meta:
        model = User
        fields = ["id", "email", "first_name", "last_name", "state", "time_zone"]
        read_only_fields = ["id", "email"]


class MeApi(APIView):
    """The signed-in member's profile."""

    @extend_schema(responses=MeSerializer)
    def get(self, request: Request) -> Response:
        return Response(MeSerializer(request.user).data)

    @extend_schema(
        request=MeSerializer,
        responses=inline_serializer(
            "MeUpdated",
            {
                **MeSerializer().get_fields(),
                "notices": serializers.ListField(
                    child=serializers.CharField(),
                    help_text="What the change means for the member's seats (a change of state).",
                ),
            },
        ),
    )
    def patch(self, request: Request) -> Response:
        # The profile form holds the rules (Florida must pick a zone), for the API and the page.
        current = MeSerializer(request.user).data
        if not hasattr(request.data, "get"):
            raise InvalidInput("Send a JSON object of profile fields.", code="invalid")
        data = {key: request.data.get(key, current[key]) for key in ProfileForm.Meta.fields}
        form = ProfileForm(data, instance=User.objects.get(pk=request.user.pk))
        if not form.is_valid():
            raise InvalidInput(
                "Some fields are not valid.",
                errors={field: [str(e) for e in errors] for field, errors in form.errors.items()},
            )
        notices = member_profile_update(member=request.user, data=form.cleaned_data, actor=request.user)
        return Response({**MeSerializer(request.user).data, "notices": notices})
