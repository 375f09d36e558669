"""Billing's API: what a held seat costs, and choosing its fee tier or promotion code before
paying (the pay page's choices, for apps). The rules are billing/pricing.py's."""

from django.db import transaction
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from billing.pricing import (
    FULL,
    price_choose,
    promo_apply,
    promo_remove,
    reservation_price,
    tiers_open_to,
)
from enrollment.selectors import member_reservations
from grouport.access import Access


class TierSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="full, reduced or assisted")
    price = serializers.DecimalField(max_digits=8, decimal_places=2)
    needs_attestation = serializers.BooleanField(help_text="Choosing it needs `attest: true`.")


class PriceSerializer(serializers.Serializer):
    list_price = serializers.DecimalField(max_digits=8, decimal_places=2)
    tier = serializers.CharField(help_text="The fee chosen: full, reduced or assisted.")
    code = serializers.CharField(allow_blank=True, help_text="The promotion code applied, if any.")
    discount = serializers.DecimalField(max_digits=8, decimal_places=2)
    due = serializers.DecimalField(max_digits=8, decimal_places=2, help_text="What paying charges.")
    tiers = TierSerializer(many=True, help_text="The fees open to this member in this group.")


class PriceChoiceSerializer(serializers.Serializer):
    tier = serializers.ChoiceField(
        choices=[FULL, "reduced", "assisted"], required=False, help_text="The fee to pay."
    )
    attest = serializers.BooleanField(
        required=False, default=False, help_text="Their word that a reduced fee is what they can pay."
    )
    code = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=40,
        help_text='A promotion code; "" removes the one applied.',
    )


def _answer(reservation, member) -> dict:
    price = reservation_price(reservation)
    tiers = [{"kind": FULL, "price": reservation.group.price, "needs_attestation": False}] + [
        {"kind": t.kind, "price": t.price, "needs_attestation": t.self_select}
        for t in tiers_open_to(member=member, group=reservation.group)
    ]
    return {
        "list_price": price.list_price,
        "tier": price.tier.kind if price.tier else FULL,
        "code": price.promo.code if price.promo else "",
        "discount": price.discount,
        "due": price.due,
        "tiers": tiers,
    }


class ReservationPriceApi(APIView):
    """What the signed-in member's seat costs (GET), and choosing its fee and code (PUT) while
    it is held: the same rules as the pay page. Then pay as the reservation's `next_action`
    says."""

    access = Access.MEMBER

    @extend_schema(responses={200: PriceSerializer})
    def get(self, request: Request, pk: int) -> Response:
        reservation = get_object_or_404(member_reservations(member=request.user), pk=pk)
        return Response(PriceSerializer(_answer(reservation, request.user)).data)

    @extend_schema(
        request=PriceChoiceSerializer,
        responses={
            200: PriceSerializer,
            400: OpenApiResponse(
                description="tier_not_offered, attestation_required, promo_unknown, promo_expired, "
                "promo_used_up, or invalid input"
            ),
            409: OpenApiResponse(
                description="not_held, payment_under_way or move_price: the price cannot change now"
            ),
        },
    )
    def put(self, request: Request, pk: int) -> Response:
        reservation = get_object_or_404(member_reservations(member=request.user), pk=pk)
        body = PriceChoiceSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        with transaction.atomic():  # the fee and the code together, or neither
            self._choose(reservation, request.user, data)
        reservation.refresh_from_db()
        return Response(PriceSerializer(_answer(reservation, request.user)).data)

    @staticmethod
    def _choose(reservation, member, data) -> None:
        # The code first: applying it locks the code's row, which comes before payments in
        # the lock order (choosing a fee may close an open page, a payment's lock).
        if "code" in data:
            if data["code"].strip():
                promo_apply(reservation=reservation, member=member, code=data["code"])
            else:
                promo_remove(reservation=reservation, member=member)
        if "tier" in data:
            price_choose(reservation=reservation, member=member, tier=data["tier"], attested=data["attest"])
