"""Moves that add up: to a dearer group the member pays the difference (its own Checkout, the
new seat held meanwhile, their seat kept until then) or staff waive it; to a cheaper one the
difference is refunded through the outbox, once, a Stripe failure on the way included. Every
case recorded and audited, and the revenue report exact."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.utils import timezone

from billing.models import FeeTier, Payment, PriceChoice, Refund
from billing.services import refund_send, stripe_checkout_start
from billing.webhooks import stripe_event_process
from enrollment.models import Reservation
from enrollment.services.moves import reservation_move
from enrollment.services.reservations import reservation_cancel, reservation_hold
from grouport.models import AuditEntry, OutboxMessage
from grouport.tasks import deliver_outbox_message
from reports.reports import ReportFilters, report_revenue
from tests.factories import ALL_TRUE, GroupFactory, licensed_therapist, member, sign_in, staff

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]


def paid_seat(stripe_fake, group, who=None):
    """A seat in ``group`` paid through (fake) Stripe at its list price."""
    r = reservation_hold(member=who or member(), group=group, attestations=ALL_TRUE)
    payment = stripe_checkout_start(reservation=r)
    stripe_event_process(
        event=stripe_fake.event("checkout.session.completed", stripe_fake.pay(payment.checkout_session_id))
    )
    r.refresh_from_db()
    assert r.status == Reservation.Status.CONFIRMED
    return r


def groups(low="320.00", high="450.00"):
    return (
        GroupFactory(title="Tuesday group", price=Decimal(low), therapist=licensed_therapist("NY")),
        GroupFactory(title="Thursday group", price=Decimal(high), therapist=licensed_therapist("NY")),
    )


def revenue() -> dict:
    today = timezone.localdate()
    table = report_revenue(
        ReportFilters(date_from=today - dt.timedelta(days=1), date_to=today + dt.timedelta(days=1))
    )
    return dict(zip(table.columns, table.rows[0], strict=True))


def test_a_move_to_a_dearer_group_holds_a_seat_there_until_the_difference_is_paid(
    stripe_fake, django_capture_on_commit_callbacks
):
    cheap, dear = groups()
    seat = paid_seat(stripe_fake, cheap)
    desk = Client()
    sign_in(desk, staff())
    with django_capture_on_commit_callbacks(execute=True):
        answer = desk.post(f"/admin/enrollment/reservation/{seat.pk}/move/", {"to_group": dear.pk})
    assert answer.status_code == 302
    held = Reservation.objects.get(group=dear, member=seat.member)
    assert held.status == Reservation.Status.HELD and held.moved_from_id == seat.pk
    seat.refresh_from_db()
    assert seat.status == Reservation.Status.CONFIRMED  # theirs until they pay
    [email] = [m for m in mail.outbox if m.to == [seat.member.email] and "held for you" in m.subject]
    assert "$130.00" in email.body and f"/reservations/{held.pk}/pay/" in email.body
    assert AuditEntry.objects.filter(action="reservation.move_offered", data__difference="130.00").exists()
    # The member pays the difference: a Checkout for $130.00, no fee or code to choose.
    member_client = Client()
    member_client.force_login(seat.member)
    page = member_client.get(f"/reservations/{held.pk}/pay/")
    assert page.status_code == 302 and page.url.startswith(stripe_fake.url)  # straight to Stripe
    payment = Payment.objects.get(reservation=held)
    assert payment.amount == Decimal("130.00")
    refused = member_client.post(f"/reservations/{held.pk}/price/", {"action": "code", "code": "X"})
    assert refused.status_code in (302, 409)
    with django_capture_on_commit_callbacks(execute=True):
        stripe_event_process(
            event=stripe_fake.event(
                "checkout.session.completed", stripe_fake.pay(payment.checkout_session_id)
            )
        )
    held.refresh_from_db()
    seat.refresh_from_db()
    assert held.status == Reservation.Status.CONFIRMED
    assert seat.status == Reservation.Status.CANCELLED and seat.end_reason == Reservation.EndReason.MOVED
    assert sorted(held.payments.values_list("amount", flat=True)) == [Decimal("130.00"), Decimal("320.00")]
    assert AuditEntry.objects.filter(action="reservation.moved", object_id=str(held.pk)).exists()
    totals = revenue()
    assert (totals["paid"], totals["list price"], totals["net"]) == (
        Decimal("450.00"), Decimal("450.00"), Decimal("450.00")
    )  # fmt: skip


def test_staff_may_waive_the_difference_and_it_is_recorded(stripe_fake):
    cheap, dear = groups()
    seat = paid_seat(stripe_fake, cheap)
    moved = reservation_move(reservation=seat, to_group=dear, actor=staff(), waive=True)
    assert moved.status == Reservation.Status.CONFIRMED
    entry = AuditEntry.objects.get(action="reservation.moved", object_id=str(moved.pk))
    assert entry.data["waived"] == "130.00" and entry.data["difference"] == "130.00"
    assert list(stripe_fake.keys("/v1/checkout/sessions")) == [f"grouport-checkout-{moved.payments.get().pk}"]
    assert revenue()["paid"] == Decimal("320.00")


def test_a_move_to_a_cheaper_group_refunds_the_difference_once_through_a_stripe_failure(
    stripe_fake, django_capture_on_commit_callbacks
):
    cheap, dear = groups()
    seat = paid_seat(stripe_fake, dear)
    stripe_fake.fail_next = [500]  # Stripe's first answer to the refund
    with django_capture_on_commit_callbacks(execute=True):
        moved = reservation_move(reservation=seat, to_group=cheap, actor=staff())
    assert moved.status == Reservation.Status.CONFIRMED
    [refund] = Refund.objects.filter(payment__reservation=moved)
    assert refund.amount == Decimal("130.00") and refund.key == f"move-{moved.pk}-{refund.payment_id}"
    assert refund.status == Refund.Status.PENDING  # the failure: the outbox tries again
    message = OutboxMessage.objects.get(kind="billing.refund_send", payload={"refund": refund.pk})
    deliver_outbox_message.apply(args=[message.pk])
    refund_send(refund=Refund.objects.get(pk=refund.pk))  # a duplicate delivery changes nothing
    refund.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED and len(stripe_fake.refunds) == 1
    entry = AuditEntry.objects.get(action="reservation.moved", object_id=str(moved.pk))
    assert entry.data["refunded"] == "130.00"
    totals = revenue()
    assert (totals["paid"], totals["refunded"], totals["net"]) == (
        Decimal("450.00"), Decimal("130.00"), Decimal("320.00")
    )  # fmt: skip
    # Moving again the same way refunds nothing twice: the move's key is its own.
    assert Refund.objects.count() == 1


def test_a_difference_never_paid_lapses_and_leaves_the_seat_as_it_was(stripe_fake):
    cheap, dear = groups()
    seat = paid_seat(stripe_fake, cheap)
    held = reservation_move(reservation=seat, to_group=dear, actor=staff())
    from enrollment.services.seats import release_lapsed_holds

    with time_machine.travel(timezone.now() + dt.timedelta(hours=25), tick=False):
        release_lapsed_holds(dear, timezone.now())
    held.refresh_from_db()
    seat.refresh_from_db()
    assert held.status == Reservation.Status.EXPIRED and seat.status == Reservation.Status.CONFIRMED
    assert seat.payments.get().amount == Decimal("320.00")


def test_a_difference_paid_after_the_old_seat_ended_is_refunded_in_full(
    stripe_fake, django_capture_on_commit_callbacks
):
    cheap, dear = groups()
    seat = paid_seat(stripe_fake, cheap)
    held = reservation_move(reservation=seat, to_group=dear, actor=staff())
    payment = stripe_checkout_start(reservation=held)
    reservation_cancel(reservation=seat, actor=seat.member)  # they left meanwhile
    with django_capture_on_commit_callbacks(execute=True):
        stripe_event_process(
            event=stripe_fake.event(
                "checkout.session.completed", stripe_fake.pay(payment.checkout_session_id)
            )
        )
    held.refresh_from_db()
    assert held.status == Reservation.Status.CANCELLED
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PAID and payment.amount_refunded == Decimal("130.00")


def test_the_difference_is_between_the_fees_the_member_pays(stripe_fake):
    """A member on the reduced fee moves between groups that both offer one: the difference
    is between the reduced fees ($150 -> $200), not the list prices."""
    cheap, dear = groups()
    FeeTier.objects.create(group=cheap, kind="reduced", price=Decimal("150.00"))
    FeeTier.objects.create(group=dear, kind="reduced", price=Decimal("200.00"))
    who = member()
    r = reservation_hold(member=who, group=cheap, attestations=ALL_TRUE)
    client = Client()
    client.force_login(who)
    client.post(f"/reservations/{r.pk}/price/", {"action": "tier", "tier": "reduced", "attest": "yes"})
    payment = stripe_checkout_start(reservation=r)
    stripe_event_process(
        event=stripe_fake.event("checkout.session.completed", stripe_fake.pay(payment.checkout_session_id))
    )
    held = reservation_move(reservation=Reservation.objects.get(pk=r.pk), to_group=dear, actor=staff())
    choice = PriceChoice.objects.get(reservation=held)
    assert choice.due == Decimal("50.00") and choice.tier.kind == "reduced"


def test_a_new_move_or_a_cancellation_withdraws_a_move_still_waiting_for_its_money(
    stripe_fake, django_capture_on_commit_callbacks
):
    """The fault a trial found: a held move stayed payable after the seat moved elsewhere."""
    cheap, dear = groups()
    cheaper = GroupFactory(title="Friday group", price=Decimal("120.00"), therapist=licensed_therapist("NY"))
    seat = paid_seat(stripe_fake, cheap)
    desk = staff()
    from billing.receipts import payment_receipt

    receipt_before = payment_receipt(seat.payments.get()).description
    held = reservation_move(reservation=seat, to_group=dear, actor=desk)
    waiting = stripe_checkout_start(reservation=held)  # the member opened the page
    moved = reservation_move(reservation=Reservation.objects.get(pk=seat.pk), to_group=cheaper, actor=desk)
    held.refresh_from_db()
    assert (
        held.status == Reservation.Status.CANCELLED
        and held.end_reason == Reservation.EndReason.MOVE_WITHDRAWN
    )
    assert moved.status == Reservation.Status.CONFIRMED
    # Paid all the same (the page was open): refunded in full, and told why in plain words.
    with django_capture_on_commit_callbacks(execute=True):
        stripe_event_process(
            event=stripe_fake.event(
                "checkout.session.completed", stripe_fake.pay(waiting.checkout_session_id)
            )
        )
    waiting.refresh_from_db()
    assert waiting.amount_refunded == waiting.amount == Decimal("130.00")
    [told] = [m for m in mail.outbox if "no longer stands" in m.body]
    assert told.to == [seat.member.email]
    # The first payment's receipt still says what was bought then.
    assert payment_receipt(moved.payments.get(amount=Decimal("320.00"))).description == receipt_before
    # A member who cancels their seat withdraws a move waiting on it too.
    other = paid_seat(stripe_fake, cheap)
    pending = reservation_move(reservation=other, to_group=dear, actor=desk)
    with django_capture_on_commit_callbacks(execute=True):  # withdrawn once the cancel commits
        reservation_cancel(reservation=Reservation.objects.get(pk=other.pk), actor=other.member)
    pending.refresh_from_db()
    assert pending.status == Reservation.Status.CANCELLED


def test_stripe_failing_as_the_difference_is_asked_keeps_the_held_seat_and_makes_one_page(stripe_fake):
    cheap, dear = groups()
    seat = paid_seat(stripe_fake, cheap)
    held = reservation_move(reservation=seat, to_group=dear, actor=staff())
    client = Client()
    client.force_login(seat.member)
    stripe_fake.fail_next = [500]
    down = client.get(f"/reservations/{held.pk}/pay/")
    assert down.status_code == 503 and "988" in down.content.decode()
    held.refresh_from_db()
    seat.refresh_from_db()
    assert held.status == Reservation.Status.HELD and seat.status == Reservation.Status.CONFIRMED
    again = client.get(f"/reservations/{held.pk}/pay/")
    assert again.status_code == 302 and again.url.startswith(stripe_fake.url)
    open_pages = Payment.objects.filter(reservation=held, status=Payment.Status.PENDING).exclude(
        checkout_url=""
    )
    assert open_pages.count() == 1 and open_pages.get().amount == Decimal("130.00")


def test_a_waived_difference_is_not_refunded_by_a_later_move_and_a_tiny_one_is_waived(stripe_fake):
    """From a cold review: staff waive $50 from A ($100) to B ($150); a later move to C ($100)
    refunds nothing (the member paid $100, not $150). A difference under Stripe's $0.50 cannot
    be charged: it is waived, and says so."""
    a = GroupFactory(price=Decimal("100.00"), therapist=licensed_therapist("NY"))
    b = GroupFactory(price=Decimal("150.00"), therapist=licensed_therapist("NY"))
    c = GroupFactory(price=Decimal("100.00"), therapist=licensed_therapist("NY"))
    d = GroupFactory(price=Decimal("100.25"), therapist=licensed_therapist("NY"))
    desk = staff()
    seat = paid_seat(stripe_fake, a)
    in_b = reservation_move(reservation=seat, to_group=b, actor=desk, waive=True)
    in_c = reservation_move(reservation=in_b, to_group=c, actor=desk)
    assert in_c.status == Reservation.Status.CONFIRMED and not Refund.objects.exists()
    in_d = reservation_move(reservation=in_c, to_group=d, actor=desk)
    assert in_d.status == Reservation.Status.CONFIRMED
    assert AuditEntry.objects.get(action="reservation.moved", object_id=str(in_d.pk)).data["waived"] == "0.25"


def test_a_move_refund_across_two_payments_locks_in_order_and_adds_up(
    stripe_fake, django_capture_on_commit_callbacks
):
    """$100 in A, $50 more to move to B ($150), then to C ($60): $90 back, oldest payment first."""
    a = GroupFactory(price=Decimal("100.00"), therapist=licensed_therapist("NY"))
    b = GroupFactory(price=Decimal("150.00"), therapist=licensed_therapist("NY"))
    c = GroupFactory(price=Decimal("60.00"), therapist=licensed_therapist("NY"))
    desk = staff()
    seat = paid_seat(stripe_fake, a)
    held = reservation_move(reservation=seat, to_group=b, actor=desk)
    difference = stripe_checkout_start(reservation=held)
    stripe_event_process(
        event=stripe_fake.event("checkout.session.completed", stripe_fake.pay(difference.checkout_session_id))
    )
    held.refresh_from_db()
    assert held.status == Reservation.Status.CONFIRMED
    with django_capture_on_commit_callbacks(execute=True):
        moved = reservation_move(reservation=held, to_group=c, actor=desk)
    refunds = list(Refund.objects.filter(payment__reservation=moved).order_by("payment_id"))
    assert [r.amount for r in refunds] == [Decimal("90.00")]
    assert refunds[0].payment.amount == Decimal("100.00")  # the oldest first


def test_a_difference_paid_just_after_its_hold_ran_out_still_moves_them(stripe_fake):
    cheap, dear = groups()
    seat = paid_seat(stripe_fake, cheap)
    held = reservation_move(reservation=seat, to_group=dear, actor=staff())
    payment = stripe_checkout_start(reservation=held)
    session = stripe_fake.pay(payment.checkout_session_id)
    with time_machine.travel(held.expires_at + dt.timedelta(minutes=1), tick=False):
        stripe_event_process(event=stripe_fake.event("checkout.session.completed", session))  # before the job
    held.refresh_from_db()
    assert held.status == Reservation.Status.CONFIRMED
    assert Reservation.objects.get(pk=seat.pk).end_reason == Reservation.EndReason.MOVED
    assert not Refund.objects.exists()
