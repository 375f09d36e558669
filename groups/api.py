"""The public catalog API: groups and eligibility by state."""

import datetime as dt
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from grouport.access import Access
from grouport.exceptions import InvalidInput, NotFound
from grouport.states import STATE_CHOICES
from groups.forms import CatalogFilterForm
from groups.models import Group, Module
from groups.selectors import eligibility_check, group_catalog, group_eligible_states, group_public


class TherapistSummarySerializer(serializers.Serializer):
    name = serializers.CharField(source="display_name")
    credentials = serializers.CharField()


@extend_schema_field(
    {
        "type": "string",
        "pattern": r"^([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]$",
        "example": "19:00:00",
        "description": "Local wall-clock time in the group's `timezone` (no offset: it follows the "
        "zone's daylight-saving changes).",
    }
)
class LocalTimeField(serializers.TimeField):
    """A wall-clock time: OpenAPI's "time" format demands an offset, which a weekly slot has not."""


class GroupSerializer(serializers.ModelSerializer):
    start_time = LocalTimeField()

    modules = serializers.SerializerMethodField()
    therapist = TherapistSummarySerializer()
    timezone = serializers.CharField(source="time_zone")
    next_session_at = serializers.SerializerMethodField()
    seats_left = serializers.SerializerMethodField()
    price = serializers.DecimalField(max_digits=8, decimal_places=2, coerce_to_string=True)
    eligible_states = serializers.SerializerMethodField()

    class Meta:
        model = Group
        fields = [
            "id",
            "slug",
            "title",
            "kind",
            "description",
            "modules",
            "therapist",
            "weekday",
            "start_time",
            "timezone",
            "duration_minutes",
            "starts_on",
            "weeks",
            "next_session_at",
            "capacity",
            "seats_left",
            "price",
            "currency",
            "eligible_states",
            "status",
        ]

    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField(choices=Module.choices)))
    def get_modules(self, group: Group) -> list[str]:
        return [link.module for link in group.module_links.all()]

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_next_session_at(self, group: Group) -> str | None:
        # ISO 8601 with the group's own offset, so "19:00-04:00" reads as the local slot.
        next_at: dt.datetime | None = group.next_session_at
        if next_at is None:
            return None
        return next_at.astimezone(ZoneInfo(group.time_zone)).isoformat()

    def get_seats_left(self, group: Group) -> int:
        return max(group.seats_left, 0)

    @extend_schema_field(serializers.ListField(child=serializers.CharField(), allow_null=True))
    def get_eligible_states(self, group: Group) -> list[str] | None:
        return group_eligible_states(group)


FILTER_PARAMETERS = [
    OpenApiParameter(
        "state",
        str,
        enum=[code for code, _name in STATE_CHOICES],
        description="Only groups someone living in this state may join (XX: outside the US).",
    ),
    OpenApiParameter("kind", str, enum=Group.Kind.values),
    OpenApiParameter("weekday", int, enum=Group.Weekday.values, description="0 is Monday."),
    OpenApiParameter("module", str, enum=Module.values),
]


def _catalog_filters(request: Request) -> dict[str, object]:
    form = CatalogFilterForm(request.query_params)
    if not form.is_valid():
        code, detail = form.first_error_code()
        raise InvalidInput(detail, code=code)
    filters = form.filters()
    filters.pop("time_of_day")
    return filters


class GroupListApi(ListAPIView):
    """List the published groups still to meet, soonest first."""

    access = Access.PUBLIC

    permission_classes = [AllowAny]
    serializer_class = GroupSerializer

    def get_queryset(self):
        return group_catalog(**_catalog_filters(self.request))

    @extend_schema(parameters=FILTER_PARAMETERS)
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)


class GroupDetailApi(RetrieveAPIView):
    """One published group."""

    access = Access.PUBLIC

    permission_classes = [AllowAny]
    serializer_class = GroupSerializer

    def get_queryset(self):
        return group_public()

    def get_object(self) -> Group:
        group = self.get_queryset().filter(pk=self.kwargs["pk"]).first()
        if group is None:
            raise NotFound(_("No published group has that id."))
        return group


class GroupAlternativeSerializer(serializers.ModelSerializer):
    class Meta:
        model = Group
        fields = ["id", "slug", "title", "kind"]


class EligibilityResponseSerializer(serializers.Serializer):
    state = serializers.CharField()
    eligible = serializers.BooleanField()
    reasons = serializers.ListField(child=serializers.CharField())
    alternatives = GroupAlternativeSerializer(many=True)


class EligibilityApi(APIView):
    """Answer whether someone living in a state may join a group, or any therapy group."""

    access = Access.PUBLIC

    permission_classes = [AllowAny]

    @extend_schema(
        parameters=[
            OpenApiParameter("state", str, required=True, enum=[code for code, _name in STATE_CHOICES]),
            OpenApiParameter("group", int, description="A group id; without it, any therapy group."),
        ],
        responses={
            200: EligibilityResponseSerializer,
            404: OpenApiResponse(description="No published group has that id."),
        },
    )
    def get(self, request: Request) -> Response:
        state = request.query_params.get("state", "").strip().upper()
        if not state:
            raise InvalidInput("state: give a two-letter state code.", code="invalid_state")
        form = CatalogFilterForm({"state": state})
        if not form.is_valid():
            code, detail = form.first_error_code()
            raise InvalidInput(detail, code=code)
        group = None
        group_id = request.query_params.get("group")
        if group_id is not None:
            if not group_id.isdigit():
                raise InvalidInput("group: give a group id.", code="invalid_group")
            group = group_public().filter(pk=int(group_id)).first()
            if group is None:
                raise NotFound(_("No published group has that id."))
        answer = eligibility_check(state=state, group=group)
        return Response(EligibilityResponseSerializer(answer).data)
