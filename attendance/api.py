"""Joining sessions through the API: a member's join links, check-in and "I can't make it",
and a session's live attendance for its therapist (or staff)."""

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from attendance.join import BadJoinToken, join_token_read, join_url
from attendance.live import live_shows_plan, session_live
from attendance.models import Attendance
from attendance.services.checkin import session_check_in, session_excuse
from enrollment.models import Reservation
from enrollment.selectors import member_reservations
from grouport.access import Access
from grouport.audit import audit_record
from grouport.exceptions import DomainError, Forbidden, NotFound
from groups.eligibility import REASON_TEXT, Reason
from groups.models import GroupSession
from groups.selectors import groups_visible_to, skills_alternatives


class JoinSessionSerializer(serializers.Serializer):
    session = serializers.IntegerField(source="session.pk")
    number = serializers.IntegerField(source="session.number")
    starts_at = serializers.DateTimeField(source="session.starts_at")
    ends_at = serializers.DateTimeField(source="session.ends_at")
    cancelled = serializers.BooleanField()
    join_url = serializers.CharField(help_text="The member's own link; it opens at `opens_at`.")
    opens_at = serializers.DateTimeField()
    attendance = serializers.CharField(allow_null=True, help_text="present, absent, excused, or null.")


class CheckInRequestSerializer(serializers.Serializer):
    state = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=2,
        help_text="Where the member is right now (therapy groups).",
    )
    at_usual_address = serializers.BooleanField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Therapy groups: whether the member is at the usual address on their intake.",
    )
    location = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=300,
        default="",
        help_text="Therapy groups, when not at the usual address (or none is kept): where the member is "
        "for this session (a street and city, or a place help could be sent to).",
    )


class CheckInSerializer(serializers.Serializer):
    admitted = serializers.BooleanField()
    checked_in_at = serializers.DateTimeField()
    video_url = serializers.CharField(
        allow_blank=True,
        help_text=(
            "The way into this session's video room, made only for an admitted check-in while the "
            "join window is open, once the therapist has let the member in, and valid until the "
            "session ends (Jitsi: a signed token for this room alone; Daily: a meeting token). "
            "Empty while `waiting`."
        ),
    )
    waiting = serializers.BooleanField(
        help_text=(
            "Checked in and waiting for the therapist to let them in: check in again (the same "
            "check-in) every few seconds until `video_url` is given."
        )
    )


class LiveRowSerializer(serializers.Serializer):
    name = serializers.CharField()
    status = serializers.ChoiceField(choices=["checked_in", "absent", "excused", "refused", "not_joined"])
    joined_at = serializers.DateTimeField(
        allow_null=True, help_text="When they checked in; for `refused`, when they last tried."
    )
    late_minutes = serializers.IntegerField()
    state = serializers.CharField()
    where = serializers.CharField(
        help_text="Therapy groups, while the session runs: where the member is (the address they "
        "gave at check-in, or their usual one). Empty otherwise."
    )
    phone = serializers.CharField(help_text="While the session runs: the member's phone. Empty otherwise.")
    emergency = serializers.CharField(
        help_text="While the session runs: the emergency contact and their phone. Empty otherwise."
    )
    room = serializers.ChoiceField(
        choices=["", "waiting", "let_in", "in_room", "out"],
        help_text="While the join window is open: waiting to be let into the video room, let in, in "
        "it now, or let in and not in it now (`in_room` and `out` only where the provider says who "
        "is in); empty before they ask for the way in.",
    )
    room_at = serializers.DateTimeField(
        allow_null=True, help_text="Since when they wait, were let in, or are in the room."
    )


def _token(token: str) -> tuple[Reservation, GroupSession]:
    try:
        reservation_id, session_id = join_token_read(token)
    except BadJoinToken:
        raise NotFound(_("Not a join link."), code="invalid_join_link") from None
    reservation = Reservation.objects.select_related("group").filter(pk=reservation_id).first()
    session = GroupSession.objects.select_related("group").filter(pk=session_id).first()
    if reservation is None or session is None:
        raise NotFound(_("Not a join link."), code="invalid_join_link")
    return reservation, session


class ReservationSessionsApi(APIView):
    """Every session of one of your seats, with your own join link for each."""

    access = Access.MEMBER

    @extend_schema(responses=JoinSessionSerializer(many=True))
    def get(self, request: Request, pk: int) -> Response:
        reservation = (
            member_reservations(member=request.user)
            .filter(pk=pk, status=Reservation.Status.CONFIRMED)
            .first()
        )
        if reservation is None:
            raise NotFound(_("You have no confirmed seat with that id."))
        sessions = list(GroupSession.objects.filter(group_id=reservation.group_id).order_by("number"))
        marks = dict(Attendance.objects.filter(reservation=reservation).values_list("session_id", "status"))
        rows = [
            {
                "session": s,
                "cancelled": s.status == GroupSession.Status.CANCELLED,
                "join_url": join_url(reservation_id=reservation.pk, session_id=s.pk),
                "opens_at": s.join_opens_at,
                "attendance": marks.get(s.pk),
            }
            for s in sessions
        ]
        return Response(JoinSessionSerializer(rows, many=True).data)


class VideoServiceUnavailable(DomainError):
    status_code = 503


class CheckInApi(APIView):
    """Check in to a session with your join link's token: where you are right now (therapy
    groups). Admitted: the way into the session's video room once the therapist lets you in
    (until then `waiting`; ask again). Refused: why, the skills groups open to all
    and the crisis line; your therapist sees the attempt."""

    access = Access.MEMBER

    @extend_schema(
        request=CheckInRequestSerializer,
        responses={
            200: CheckInSerializer,
            400: OpenApiResponse(
                description="invalid_state, location_required, or consent_required (a new version of "
                "the telehealth consent is signed first)"
            ),
            403: OpenApiResponse(description="not_licensed_where_you_are, or the link is closed"),
            503: OpenApiResponse(
                description="video_unavailable: checked in, but the video service did not answer; ask again"
            ),
        },
    )
    def post(self, request: Request, token: str) -> Response:
        reservation, session = _token(token)
        body = CheckInRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        result = session_check_in(
            reservation=reservation,
            session=session,
            member=request.user,
            state=body.validated_data.get("state", ""),
            at_usual_address=body.validated_data.get("at_usual_address"),
            location=body.validated_data.get("location", ""),
            request=request._request,
        )
        if not result.admitted:
            raise Forbidden(
                " ".join(str(REASON_TEXT[Reason(code)]) for code in result.decision.reason_codes),
                code="not_licensed_where_you_are",
                reasons=result.decision.reason_codes,
                alternatives=[
                    {"id": g.pk, "slug": g.slug, "title": g.title}
                    for g in skills_alternatives(
                        limit=3,
                        exclude=Reservation.objects.filter(
                            member=request.user, status__in=Reservation.ACTIVE
                        ).values_list("group_id", flat=True),
                    )
                ],
                crisis=_("Call or text 988 (for Spanish, press 2). In an emergency, call 911."),
            )
        if not result.video_url and not result.waiting:
            raise VideoServiceUnavailable(
                _("You're checked in, but the video service is not answering. Try again in a moment."),
                code="video_unavailable",
            )
        return Response(
            {
                "admitted": True,
                "checked_in_at": result.check_in.at,
                "video_url": result.video_url,
                "waiting": result.waiting,
            }
        )


class CantMakeItApi(APIView):
    """Tell the group you can't make a session (until it starts); your therapist is told."""

    access = Access.MEMBER

    @extend_schema(request=None, responses={200: None})
    def post(self, request: Request, token: str) -> Response:
        reservation, session = _token(token)
        row = session_excuse(
            reservation=reservation, session=session, member=request.user, request=request._request
        )
        return Response({"session": session.pk, "attendance": row.status})


class SessionAttendanceApi(APIView):
    """A session's live attendance, for the group's therapist (and staff)."""

    access = Access.CLINICAL

    @extend_schema(responses=LiveRowSerializer(many=True))
    def get(self, request: Request, pk: int) -> Response:
        session = GroupSession.objects.select_related("group").filter(pk=pk).first()
        if session is None or not groups_visible_to(request.user).filter(pk=session.group_id).exists():
            raise NotFound(_("No such session."))
        rows = session_live(session=session)
        audit_record(
            actor=request.user,
            action="session.live_viewed",
            obj=session,
            data={"emergency_plan": live_shows_plan(rows)},
            request=request._request,
        )
        return Response(LiveRowSerializer([r.__dict__ for r in rows], many=True).data)
