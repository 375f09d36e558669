"""Account API: expiring tokens for API clients (get, list, revoke), and the member's profile."""

from allauth.account.adapter import get_adapter as get_account_adapter
from allauth.account.models import EmailAddress
from allauth.mfa.base.forms import AuthenticateForm
from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from knox.models import AuthToken
from knox.settings import knox_settings
from rest_framework import serializers, status
from rest_framework.exceptions import Throttled
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from grouport.access import Access
from grouport.exceptions import Forbidden, InvalidInput, NotFound
from grouport.forms import ProfileForm
from grouport.models import User
from grouport.roles import needs_second_factor
from grouport.services import member_profile_update
from grouport.states import STATE_CHOICES, default_time_zone


class TokenRequestSerializer(serializers.Serializer):
    email = serializers.EmailField()
    password = serializers.CharField(trim_whitespace=False, style={"input_type": "password"})
    code = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=64,
        help_text="A code from your authenticator app (or a recovery code), if your account has one.",
    )


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send it as `Authorization: Token <token>`. Shown once.")
    expiry = serializers.DateTimeField()


class TokenInfoSerializer(serializers.Serializer):
    id = serializers.CharField(source="token_key", help_text="The token's first characters.")
    created = serializers.DateTimeField()
    expiry = serializers.DateTimeField()
    current = serializers.SerializerMethodField()

    def get_current(self, token: AuthToken) -> bool:
        return token.pk == getattr(self.context.get("auth"), "pk", None)


class LoginThrottle(AnonRateThrottle):
    rate = "10/min"


class TokenApi(APIView):
    """Exchange an email and password for an expiring API token (one error for any wrong pair).

    Wrong passwords count against the same limits as the site's sign-in (per address and per
    account, in the shared cache): past them the answer is 429. As on the site, the email must
    be confirmed, and an account with a second factor sends its code.
    """

    access = Access.ACCOUNT
    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [LoginThrottle]

    @extend_schema(request=TokenRequestSerializer, responses={200: TokenSerializer, 429: None})
    def post(self, request: Request) -> Response:
        serializer = TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        email = serializer.validated_data["email"].strip().lower()
        # The site's own sign-in check: the same per-account and per-address counts, and a
        # right password only takes back its own try (it does not wipe the count).
        try:
            user = get_account_adapter(request._request).authenticate(
                request._request, email=email, password=serializer.validated_data["password"]
            )
        except DjangoValidationError:
            raise Throttled(
                detail=_("Too many failed sign-ins. Please wait a few minutes and try again.")
            ) from None
        if user is None or not user.is_active:
            # The same answer for an unknown email and a wrong password: no account enumeration.
            raise InvalidInput(_("Email or password is not correct."), code="invalid_credentials")
        if not EmailAddress.objects.filter(user=user, verified=True).exists():
            raise Forbidden(
                _("Confirm your email address first: open the link we sent you."), code="email_unverified"
            )
        self._second_factor(user, serializer.validated_data.get("code", ""))
        # Oldest first out, past the per-user limit.
        tokens = AuthToken.objects.filter(user=user).order_by("-created")
        for old in tokens[knox_settings.TOKEN_LIMIT_PER_USER - 1 :]:
            old.delete()
        instance, token = AuthToken.objects.create(user=user)
        return Response({"token": token, "expiry": instance.expiry})

    @staticmethod
    def _second_factor(user: User, code: str) -> None:
        """A token is a sign-in: an account with a second factor passes it here too."""
        if is_mfa_enabled(user):
            if not code:
                raise InvalidInput(
                    _(
                        "Your account uses two-step sign-in: send a code from your authenticator "
                        "app as `code`."
                    ),
                    code="second_factor_required",
                )
            form = AuthenticateForm(user=user, data={"code": code})
            if not form.is_valid():
                raise InvalidInput(
                    _("That code is not correct."),
                    code="incorrect_code",
                    errors={"code": [str(e) for e in form.errors.get("code", [])]},
                )
            form.authenticator.record_usage()  # validating spent the code: it works once
        elif needs_second_factor(user):
            raise Forbidden(
                _(
                    "Your account can see members' health information: set up two-step sign-in on the "
                    "site before asking for an API token."
                ),
                code="second_factor_not_set_up",
            )


class TokenListApi(APIView):
    """The signed-in person's API tokens (never the tokens themselves)."""

    access = Access.MEMBER

    @extend_schema(responses=TokenInfoSerializer(many=True))
    def get(self, request: Request) -> Response:
        tokens = AuthToken.objects.filter(user=request.user).order_by("-created")
        return Response(TokenInfoSerializer(tokens, many=True, context={"auth": request.auth}).data)


class TokenRevokeApi(APIView):
    """Revoke one of the signed-in person's tokens by its id."""

    access = Access.MEMBER

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request, token_id: str) -> Response:
        deleted, _by_model = AuthToken.objects.filter(user=request.user, token_key=token_id).delete()
        if not deleted:
            raise NotFound(_("You have no token with that id."))
        return Response(status=status.HTTP_204_NO_CONTENT)


class LogoutApi(APIView):
    """Revoke the token this request was made with (``?all=true``: every token of yours)."""

    access = Access.ACCOUNT

    @extend_schema(request=None, responses={204: None})
    def post(self, request: Request) -> Response:
        if request.query_params.get("all") == "true":
            AuthToken.objects.filter(user=request.user).delete()
        elif isinstance(request.auth, AuthToken):
            request.auth.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeSerializer(serializers.ModelSerializer):
    # Blank until the profile is filled in (staff accounts often never do).
    state = serializers.ChoiceField(choices=STATE_CHOICES, allow_blank=True)
    time_zone = serializers.CharField(
        allow_blank=True, required=False, help_text="Any IANA zone, e.g. America/New_York or Europe/Madrid."
    )
    language = serializers.ChoiceField(
        choices=settings.LANGUAGES, allow_blank=True, required=False, help_text="For the site and emails."
    )

    class Meta:
        model = User
        fields = ["id", "email", "first_name", "last_name", "state", "time_zone", "language"]
        read_only_fields = ["id", "email"]


class MeApi(APIView):
    """The signed-in member's profile."""

    access = Access.MEMBER

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
            raise InvalidInput(_("Send a JSON object of profile fields."), code="invalid")
        # Types first (a name is a string, a zone is not null), then the form's rules.
        typed = MeSerializer(request.user, data=request.data, partial=True)
        if not typed.is_valid():
            raise InvalidInput(
                _("Some fields are not valid."),
                errors={field: [str(e) for e in errors] for field, errors in typed.errors.items()},
            )
        data = {key: request.data.get(key, current[key]) for key in ProfileForm.Meta.fields}
        if (
            "time_zone" not in request.data
            and data["state"] != current["state"]
            and current["time_zone"] == default_time_zone(current["state"])
        ):
            # A move takes the new state's usual zone unless one was chosen (Florida asks).
            data["time_zone"] = ""
        form = ProfileForm(data, instance=User.objects.get(pk=request.user.pk))
        if not form.is_valid():
            raise InvalidInput(
                "Some fields are not valid.",
                errors={field: [str(e) for e in errors] for field, errors in form.errors.items()},
            )
        notices = member_profile_update(member=request.user, data=form.cleaned_data, actor=request.user)
        return Response({**MeSerializer(request.user).data, "notices": notices})
