"""What a seat costs: the one place for the price rules.

A group's list price (``Group.price``) is its full fee. A group may offer fee tiers
(``FeeTier``): a reduced fee members choose with an attestation, and an assisted fee staff
give after a financial-assistance request (``AssistanceRequest``). A promotion code
(``PromoCode``) takes an amount or a percentage off the tier's price, never below Stripe's
least charge ($0.50). What a seat's member owes is its ``PriceChoice.due`` (the list price
when they chose nothing); Checkout, the offline stand-in, receipts and the revenue report all
read it from here.

The member chooses on the pay page (``price_choose``, ``promo_apply``), before paying, and
only while the seat is held and nothing is being paid. A code is checked on the server under
its row lock: unknown, inactive, expired and used-up codes are refused with a clear error,
and two members racing for a code's last use, one gets it.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.attempts import attempts_close_open
from billing.lock_objects import lock_promo_code
from billing.models import AssistanceRequest, FeeTier, Payment, PriceChoice, PromoCode
from enrollment.lock_objects import lock_reservation
from enrollment.models import Reservation
from grouport.audit import audit_record
from grouport.exceptions import Conflict, InvalidInput
from grouport.models import User
from grouport.outbox import outbox_add
from grouport.transitions import transition
from groups.models import Group

MIN_CHARGE = Decimal("0.50")  # Stripe's least charge in US dollars
CENT = Decimal("0.01")
FULL = "full"


@dataclass(frozen=True)
class Price:
    list_price: Decimal
    tier: FeeTier | None
    promo: PromoCode | None
    code_off: Decimal
    due: Decimal

    @property
    def discount(self) -> Decimal:
        return self.list_price - self.due

    @property
    def tier_off(self) -> Decimal:
        """The fee tier's part of the discount (the code's is ``code_off``)."""
        return self.list_price - self.due - self.code_off


def price_of(*, group: Group, tier: FeeTier | None = None, promo: PromoCode | None = None) -> Price:
    """The price of a seat in ``group`` at ``tier`` (None: the full fee) with ``promo``."""
    list_price = group.price
    base = min(tier.price, list_price) if tier is not None else list_price
    code_off = Decimal("0.00")
    if promo is not None and base > MIN_CHARGE:
        if promo.amount_off is not None:
            code_off = promo.amount_off
        else:
            code_off = (base * promo.percent_off / 100).quantize(CENT, rounding=ROUND_HALF_UP)
        code_off = min(code_off, base - MIN_CHARGE)
    return Price(list_price, tier, promo, code_off, base - code_off)


def reservation_price(reservation: Reservation) -> Price:
    """What ``reservation``'s member owes now (their choice, else the group's list price)."""
    choice = PriceChoice.objects.select_related("tier", "promo").filter(reservation=reservation).first()
    if choice is None:
        return price_of(group=reservation.group)
    if reservation.moved_from_id is not None:  # a held move: the difference, as recorded
        return Price(choice.list_price, choice.tier, None, Decimal("0.00"), choice.due)
    return price_of(group=reservation.group, tier=choice.tier, promo=choice.promo)


def tiers_open_to(*, member: User, group: Group) -> list[FeeTier]:
    """The fee tiers ``member`` may choose in ``group``: those open to all (with their word),
    and the assisted fee once staff granted their request."""
    granted = AssistanceRequest.objects.filter(
        member=member, group=group, status=AssistanceRequest.Status.GRANTED
    ).exists()
    tiers = FeeTier.objects.filter(group=group).order_by("-price")
    return [t for t in tiers if t.self_select or (granted and t.kind == FeeTier.Kind.ASSISTED)]


def codes_offered() -> bool:
    """Whether any promotion code could be typed now (the pay page asks for one only then)."""
    now = timezone.now()
    return PromoCode.objects.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now), active=True).exists()


def price_to_choose(reservation: Reservation) -> bool:
    """Whether the member has a fee or a code to choose before paying for ``reservation``: its
    group offers them a fee tier, or a code could be typed, and they have not been to the pay
    page's choices yet. A held move's price is the difference, nothing to choose."""
    if reservation.moved_from_id is not None:
        return False
    now = timezone.now()
    # One read in the common case (no fees, no live code): whether there is anything to choose.
    has_tiers, has_codes = (
        Group.objects.filter(pk=reservation.group_id)
        .annotate(
            has_tiers=Exists(FeeTier.objects.filter(group=OuterRef("pk"))),
            has_codes=Exists(
                PromoCode.objects.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now), active=True)
            ),
        )
        .values_list("has_tiers", "has_codes")
        .get()
    )
    # Fees (even one staff give: the pay page offers to ask for it) or a code: the pay page
    # asks, unless the member has been through its choices already.
    return (has_tiers or has_codes) and not PriceChoice.objects.filter(reservation=reservation).exists()


def _choice_for(reservation: Reservation, member: User) -> PriceChoice:
    """The locked seat's price choice, made at the list price the first time."""
    if reservation.member_id != member.pk:
        raise InvalidInput(_("This is not your seat."), code="not_yours")
    if reservation.moved_from_id is not None:
        raise Conflict(_("A move's price is the difference between the groups' fees."), code="move_price")
    if reservation.status != Reservation.Status.HELD:
        raise Conflict(
            _("The price can be chosen only while your seat is held for payment."), code="not_held"
        )
    if reservation.payments.filter(status__in=(Payment.Status.PROCESSING, Payment.Status.PAID)).exists():
        raise Conflict(
            _("A payment for this seat is under way: the price can't change now."), code="payment_under_way"
        )
    price = price_of(group=reservation.group)
    choice, _made = PriceChoice.objects.get_or_create(
        reservation=reservation,
        defaults={"list_price": price.list_price, "due": price.due, "discount": price.discount},
    )
    return choice


def _save(choice: PriceChoice, group: Group) -> PriceChoice:
    price = price_of(group=group, tier=choice.tier, promo=choice.promo)
    changed = choice.pk is None or choice.due != price.due
    choice.list_price, choice.discount, choice.due = price.list_price, price.discount, price.due
    choice.fee = price.due + price.code_off
    choice.save()
    if changed:
        # A page opened at the old price must not be paid: it is closed (the next one is
        # made for the price due now).
        attempts_close_open(choice.reservation)
    return choice


def price_choose(
    *, reservation: Reservation, member: User, tier: str, attested: bool, now: dt.datetime | None = None
) -> PriceChoice:
    """``member`` chooses the fee they pay for their held seat: ``"full"`` or a tier's kind
    open to them. A reduced fee needs their word that it is what they can pay."""
    now = now or timezone.now()
    with transaction.atomic():
        reservation = lock_reservation(reservation.pk)
        choice = _choice_for(reservation, member)
        if tier == FULL:
            choice.tier, choice.tier_attested_at = None, None
        else:
            offered = tiers_open_to(member=member, group=reservation.group)
            found = next((t for t in offered if t.kind == tier), None)
            if found is None:
                raise InvalidInput(_("That fee is not offered to you here."), code="tier_not_offered")
            if found.self_select and not attested:
                raise InvalidInput(
                    _("Tick the box to confirm this fee is what you can pay."), code="attestation_required"
                )
            choice.tier, choice.tier_attested_at = found, (now if found.self_select else None)
        return _save(choice, reservation.group)


def promo_uses(promo: PromoCode, *, besides: Reservation | None = None) -> int:
    """How many uses ``promo`` has: seats holding it (held, in review or confirmed), and any
    seat it was paid with. A lapsed hold's use is given back."""
    held = PriceChoice.objects.filter(promo=promo, reservation__status__in=Reservation.ACTIVE)
    # A payment made with the code counts while its page is open and once paid, wherever a
    # move carried it since.
    charged = Payment.objects.filter(
        promo=promo, status__in=(Payment.Status.PENDING, Payment.Status.PROCESSING, Payment.Status.PAID)
    )
    seats = set(held.values_list("reservation_id", flat=True)) | set(
        charged.values_list("reservation_id", flat=True)
    )
    seats.discard(besides.pk if besides is not None else None)
    return len(seats)


def promo_apply(
    *, reservation: Reservation, member: User, code: str, now: dt.datetime | None = None
) -> PriceChoice:
    """Apply a promotion code to ``member``'s held seat, or say plainly why not."""
    now = now or timezone.now()
    typed = "".join(code.split()).upper()
    if not typed:
        raise InvalidInput(_("Type the code."), code="promo_missing")
    with transaction.atomic():
        reservation = lock_reservation(reservation.pk)
        choice = _choice_for(reservation, member)
        found = PromoCode.objects.filter(code__iexact=typed).first()
        if found is None or not found.active:
            raise InvalidInput(_("That code is not one we know."), code="promo_unknown")
        promo = lock_promo_code(found.pk)  # the last use goes to one member only
        if promo.expires_at is not None and promo.expires_at <= now:
            raise InvalidInput(_("That code has expired."), code="promo_expired")
        if promo.max_uses is not None and promo_uses(promo, besides=reservation) >= promo.max_uses:
            raise InvalidInput(_("That code has been used up."), code="promo_used_up")
        choice.promo = promo
        return _save(choice, reservation.group)


def promo_remove(*, reservation: Reservation, member: User) -> PriceChoice:
    with transaction.atomic():
        reservation = lock_reservation(reservation.pk)
        choice = _choice_for(reservation, member)
        choice.promo = None
        return _save(choice, reservation.group)


def assistance_request(*, member: User, group: Group, household_size: int, income: str) -> AssistanceRequest:
    """``member`` asks for financial assistance in ``group`` (once; asking again updates it
    while it waits). Staff decide in the admin; the member is emailed the answer."""
    if not 1 <= household_size <= 20:
        raise InvalidInput(_("Give the number of people in your household (1 to 20)."), code="household_size")
    if income not in AssistanceRequest.Income.values:
        raise InvalidInput(_("Choose your household's income."), code="income")
    if not FeeTier.objects.filter(group=group, kind=FeeTier.Kind.ASSISTED).exists():
        raise InvalidInput(_("This group does not offer financial assistance."), code="no_assistance")
    with transaction.atomic():
        request, made = AssistanceRequest.objects.get_or_create(
            member=member, group=group, defaults={"household_size": household_size, "income": income}
        )
        if not made:
            if request.status != AssistanceRequest.Status.OPEN:
                raise Conflict(_("Your request was answered already."), code="assistance_decided")
            request.household_size, request.income = household_size, income
            request.save(update_fields=["household_size", "income"])
        audit_record(actor=member, action="assistance.requested", obj=request, data={"group": group.pk})
    return request


def assistance_decide(
    *, request: AssistanceRequest, grant: bool, actor: User, now: dt.datetime | None = None
) -> AssistanceRequest:
    """Staff grant or decline a request, once: a second decision, or two at once, change
    nothing more (the first to write it wins). Audited by its transition; the member is
    emailed the answer through the outbox."""
    now = now or timezone.now()
    with transaction.atomic():
        waiting = AssistanceRequest.objects.filter(pk=request.pk, status=AssistanceRequest.Status.OPEN)
        updated = waiting.update(decided_by=actor, decided_at=now)
        request.refresh_from_db()
        if not updated:
            raise Conflict(_("This request was decided already."), code="assistance_decided")
        transition(
            request,
            to=AssistanceRequest.Status.GRANTED if grant else AssistanceRequest.Status.DECLINED,
            actor=actor,
            data={"group": request.group_id},
        )
        outbox_add(
            kind="billing.assistance_answer", payload={"request": request.pk}, key=f"assistance-{request.pk}"
        )
    return request


# --- Moves (enrollment/services/moves.py asks through the payment port)


def _tier_kind(reservation: Reservation) -> str | None:
    choice = PriceChoice.objects.select_related("tier").filter(reservation=reservation).first()
    return choice.tier.kind if choice is not None and choice.tier is not None else None


def _fee_for(group: Group, kind: str | None) -> Price:
    """A group's fee at the tier of ``kind`` where it offers one (else its full fee), no code."""
    tier = FeeTier.objects.filter(group=group, kind=kind).first() if kind else None
    return price_of(group=group, tier=tier)


def move_difference(*, old: Reservation, to_group: Group) -> Decimal:
    """What a move costs more (positive) or less (negative): the target group's fee for the
    member, at their fee tier where it offers one, less the fee recorded for the seat they
    leave (what they paid for before any code: a code's discount stays theirs, a waived
    difference counts as not paid). A seat from before fees were recorded: its group's fee
    now."""
    kind = _tier_kind(old)
    choice = PriceChoice.objects.filter(reservation=old).first()
    source = choice.fee if choice is not None and choice.fee is not None else _fee_for(old.group, kind).due
    return _fee_for(to_group, kind).due - source


def move_price_set(
    *, new: Reservation, old: Reservation, difference: Decimal | None, waived: Decimal = Decimal("0.00")
) -> PriceChoice:
    """The moved seat's price: the difference still to pay (a move held until paid; its
    list price is that difference), or the new group's fee for them (a move done at once;
    less any difference staff waived, so a later move counts only what was paid)."""
    kind = _tier_kind(old)
    fee = _fee_for(new.group, kind)
    if difference is not None:
        values = {"list_price": difference, "discount": Decimal("0.00"), "due": difference, "fee": fee.due}
    else:
        values = {
            "list_price": fee.list_price,
            "discount": fee.discount,
            "due": fee.due,
            "fee": fee.due - waived,
        }
    choice, _made = PriceChoice.objects.update_or_create(
        reservation=new, defaults={"tier": fee.tier, **values}
    )
    return choice
