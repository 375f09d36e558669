"""The member API: reservations and the waitlist. Members only ever see their own."""

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from enrollment.models import Reservation, WaitlistEntry
from enrollment.selectors import (
    member_reservations,
    member_waitlist,
    reservations_listed,
    waitlist_listed,
    waitlist_position,
)
from enrollment.services.reservations import (
    Attestations,
    reservation_cancel,
    reservation_next_action,
    reservation_start,
)
from enrollment.services.review import reservation_review_approve, reservation_review_decline
from enrollment.services.waitlist import (
    waitlist_join,
    waitlist_leave,
    waitlist_offer_accept,
    waitlist_offer_decline,
)
from grouport.access import Access
from grouport.audit import audit_record
from grouport.exceptions import NotFound
from groups.models import Group
from groups.selectors import groups_visible_to
from intake.selectors import intake_summaries


class AttestationSerializer(serializers.Serializer):
    attest_residence = serializers.BooleanField(default=False, help_text="I live in the state on my profile.")
    attest_location = serializers.BooleanField(
        default=False, help_text="I will attend every session from a state where I may join."
    )
    accept_agreement = serializers.BooleanField(
        default=False, help_text="I accept the group agreement, including its crisis plan."
    )

    def attestations(self) -> Attestations:
        data = self.validated_data
        return Attestations(
            residence=data["attest_residence"],
            location=data["attest_location"],
            agreement=data["accept_agreement"],
        )


class NextActionSerializer(serializers.Serializer):
    type = serializers.CharField()
    url = serializers.CharField()


class ReservationSerializer(serializers.ModelSerializer):
    status = serializers.SerializerMethodField()
    next_action = serializers.SerializerMethodField()

    class Meta:
        model = Reservation
        fields = ["id", "status", "expires_at", "group", "next_action", "created_at", "confirmed_at"]

    @extend_schema_field(serializers.ChoiceField(choices=Reservation.Status.choices))
    def get_status(self, reservation: Reservation) -> str:
        # A hold that ran out reads "expired" from that moment, marked by the job or not.
        return reservation.status_at()

    @extend_schema_field(NextActionSerializer(allow_null=True))
    def get_next_action(self, reservation: Reservation) -> dict[str, str] | None:
        action = self.context.get("next_action") or reservation_next_action(reservation=reservation)
        return action.as_dict() if action else None


class WaitlistEntrySerializer(serializers.ModelSerializer):
    position = serializers.SerializerMethodField()
    offer = ReservationSerializer(read_only=True, allow_null=True)

    class Meta:
        model = WaitlistEntry
        fields = ["id", "group", "status", "position", "created_at", "offer"]

    def get_position(self, entry: WaitlistEntry) -> int | None:
        return waitlist_position(entry=entry)


def _reservable_group(pk: int) -> Group:
    """A group a member may ask about: published or closed (drafts do not exist to them)."""
    group = Group.objects.filter(pk=pk).exclude(status=Group.Status.DRAFT).select_related("therapist").first()
    if group is None:
        raise NotFound(_("No published group has that id."))
    return group


class GroupReservationCreateApi(APIView):
    """Hold a seat in a group (and confirm it at once if the group is free)."""

    access = Access.MEMBER

    @extend_schema(
        request=AttestationSerializer,
        responses={
            201: ReservationSerializer,
            400: OpenApiResponse(
                description="attestation_required, group_closed, profile_incomplete, intake_required (with "
                "missing: what the intake lacks), consent_required (with version)"
            ),
            403: OpenApiResponse(
                description="not_eligible (with reasons, alternatives), email_unverified, too_young or "
                "age_out_of_range (with alternatives: the groups meant for the member's age)"
            ),
            409: OpenApiResponse(description="group_full (with waitlist_url), already_reserved"),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        group = _reservable_group(pk)
        serializer = AttestationSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        reservation, action = reservation_start(
            member=request.user, group=group, attestations=serializer.attestations()
        )
        body = ReservationSerializer(reservation, context={"next_action": action}).data
        return Response(body, status=status.HTTP_201_CREATED)


class ReservationListApi(ListAPIView):
    """The signed-in member's reservations, newest first."""

    access = Access.MEMBER

    serializer_class = ReservationSerializer

    def get_queryset(self):
        return reservations_listed(member_reservations(member=self.request.user))


class ReservationDetailApi(RetrieveAPIView):
    """One of the signed-in member's reservations (another member's id is a 404)."""

    access = Access.MEMBER

    serializer_class = ReservationSerializer

    def get_queryset(self):
        return member_reservations(member=self.request.user)


class ReservationCancelApi(APIView):
    """Cancel one of the signed-in member's reservations; the seat frees at once."""

    access = Access.MEMBER

    @extend_schema(
        request=None,
        responses={
            200: ReservationSerializer,
            409: OpenApiResponse(description="invalid_transition: the reservation has already ended"),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        reservation = get_object_or_404(member_reservations(member=request.user), pk=pk)
        reservation_cancel(reservation=reservation, actor=request.user)
        reservation.refresh_from_db()
        return Response(ReservationSerializer(reservation).data)


class GroupWaitlistApi(APIView):
    """Join (POST) or leave (DELETE) a full group's waitlist."""

    access = Access.MEMBER

    @extend_schema(
        request=None,
        responses={
            201: WaitlistEntrySerializer,
            400: OpenApiResponse(description="group_closed, profile_incomplete"),
            403: OpenApiResponse(description="not_eligible (with reasons, alternatives), email_unverified"),
            409: OpenApiResponse(description="already_reserved, already_waitlisted, seats_available"),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        entry = waitlist_join(member=request.user, group=_reservable_group(pk))
        return Response(WaitlistEntrySerializer(entry).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        entry = (
            member_waitlist(member=request.user).filter(group_id=pk, status__in=WaitlistEntry.ACTIVE).first()
        )
        if entry is None:
            raise NotFound(_("You are not on this group's waitlist."))
        waitlist_leave(entry=entry, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WaitlistListApi(ListAPIView):
    """The signed-in member's waitlist entries, with their place in line and any open offer."""

    access = Access.MEMBER

    serializer_class = WaitlistEntrySerializer

    def get_queryset(self):
        return waitlist_listed(member_waitlist(member=self.request.user)).order_by("-created_at", "-pk")


class WaitlistOfferAcceptApi(APIView):
    """Accept a seat offer with the attestations; then pay (or it is confirmed if free)."""

    access = Access.MEMBER

    @extend_schema(
        request=AttestationSerializer,
        responses={
            200: ReservationSerializer,
            400: OpenApiResponse(description="attestation_required, group_closed, profile_incomplete"),
            403: OpenApiResponse(
                description="not_eligible (the offer passes on; the member keeps their place), "
                "email_unverified"
            ),
            409: OpenApiResponse(description="invalid_transition (no open offer), hold_expired"),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        entry = get_object_or_404(member_waitlist(member=request.user), pk=pk)
        serializer = AttestationSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        reservation, action = waitlist_offer_accept(
            entry=entry, member=request.user, attestations=serializer.attestations()
        )
        return Response(ReservationSerializer(reservation, context={"next_action": action}).data)


class WaitlistOfferDeclineApi(APIView):
    """Decline a seat offer: the seat goes to the next member in line."""

    access = Access.MEMBER

    @extend_schema(
        request=None,
        responses={
            200: WaitlistEntrySerializer,
            409: OpenApiResponse(description="invalid_transition: there is no open offer to decline"),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        entry = get_object_or_404(member_waitlist(member=request.user), pk=pk)
        entry = waitlist_offer_decline(entry=entry, actor=request.user)
        return Response(WaitlistEntrySerializer(entry).data)


class ReviewIntakeSerializer(serializers.Serializer):
    age = serializers.IntegerField(allow_null=True)
    phone = serializers.CharField()
    emergency_contact = serializers.CharField()
    emergency_phone = serializers.CharField()
    usual_address = serializers.CharField()
    consent_version = serializers.IntegerField(allow_null=True)
    consent_current = serializers.BooleanField()
    answers = serializers.ListField(
        child=serializers.DictField(), help_text="question, answer, needs_clinician"
    )
    flagged = serializers.BooleanField(help_text="An answer waits for a clinician's eyes.")


class ReviewSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    group = serializers.IntegerField()
    requested_at = serializers.DateTimeField()
    decide_by = serializers.DateTimeField(
        help_text="The seat is let go to the waitlist if nobody decides by then."
    )
    intake = ReviewIntakeSerializer()


class ReviewDecisionSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=["approve", "decline"])
    note = serializers.CharField(
        max_length=2000, required=False, allow_blank=True, default="", help_text="Required to decline."
    )


def _reviews_visible(user):
    return Reservation.objects.filter(
        status=Reservation.Status.REVIEW, group__in=groups_visible_to(user)
    ).order_by("expires_at", "pk")


def _review_body(reservations: list[Reservation]) -> list[dict]:
    summaries = intake_summaries([r.member_id for r in reservations])
    body = []
    for r in reservations:
        s = summaries[r.member_id]
        body.append(
            {
                "id": r.pk,
                "group": r.group_id,
                "requested_at": r.created_at,
                "decide_by": r.expires_at,
                "intake": {
                    "age": s.age,
                    "phone": s.phone,
                    "emergency_contact": s.emergency_contact,
                    "emergency_phone": s.emergency_phone,
                    "usual_address": s.usual_address,
                    "consent_version": s.consent_version,
                    "consent_current": s.consent_current,
                    "answers": [a.__dict__ for a in s.answers],
                    "flagged": s.flag_id is not None,
                },
            }
        )
    return body


class ReviewListApi(APIView):
    """Seats held for an intake review in your groups (staff: every group), soonest deadline
    first, with what the review reads. Each look is audited."""

    access = Access.CLINICAL

    @extend_schema(responses=ReviewSerializer(many=True))
    def get(self, request: Request) -> Response:
        reservations = list(_reviews_visible(request.user))
        audit_record(
            actor=request.user,
            action="review.list_viewed",
            object_type="enrollment.reservation",
            data={"rows": len(reservations)},
            request=request._request,
        )
        return Response(ReviewSerializer(_review_body(reservations), many=True).data)


class ReviewDecisionApi(APIView):
    """Approve or decline a seat held for review (the group's therapist, or staff). Approving
    asks the licensing rule again; a paid seat then waits for payment, a free one is confirmed."""

    access = Access.CLINICAL

    @extend_schema(
        request=ReviewDecisionSerializer,
        responses={
            200: ReservationSerializer,
            400: OpenApiResponse(description="note_required (to decline)"),
            403: OpenApiResponse(description="not_eligible: the member may no longer join from their state"),
            409: OpenApiResponse(
                description="invalid_transition (already decided) or hold_expired (too late)"
            ),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        reservation = Reservation.objects.filter(pk=pk, group__in=groups_visible_to(request.user)).first()
        if reservation is None:
            raise NotFound(_("No such review."))
        body = ReviewDecisionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        decide = (
            reservation_review_approve
            if body.validated_data["decision"] == "approve"
            else reservation_review_decline
        )
        decide(reservation=reservation, actor=request.user, note=body.validated_data["note"])
        reservation.refresh_from_db()
        return Response(ReservationSerializer(reservation).data)
