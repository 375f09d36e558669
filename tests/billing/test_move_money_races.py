"""A member and the clinic at once, on PostgreSQL with two real threads: the difference for a
held move arrives while the member cancels the seat it would replace. One goes first; the
money adds up either way, each refund once, and no seat is left half-moved."""

import threading
from decimal import Decimal

import pytest
from django.db import connection

from billing.models import Payment, Refund
from billing.services import stripe_checkout_start
from billing.webhooks import stripe_event_process
from enrollment.models import Reservation
from enrollment.services.moves import reservation_move
from enrollment.services.reservations import reservation_cancel, reservation_hold
from tests.factories import ALL_TRUE, GroupFactory, licensed_therapist, member, staff

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_the_difference_arriving_while_the_member_cancels_the_old_seat(stripe_fake):
    cheap = GroupFactory(price=Decimal("320.00"), therapist=licensed_therapist("NY"))
    dear = GroupFactory(price=Decimal("450.00"), therapist=licensed_therapist("NY"))
    seat = reservation_hold(member=member(), group=cheap, attestations=ALL_TRUE)
    first = stripe_checkout_start(reservation=seat)
    stripe_event_process(
        event=stripe_fake.event("checkout.session.completed", stripe_fake.pay(first.checkout_session_id))
    )
    held = reservation_move(reservation=Reservation.objects.get(pk=seat.pk), to_group=dear, actor=staff())
    difference = stripe_checkout_start(reservation=held)
    paid_session = stripe_fake.pay(difference.checkout_session_id)
    barrier = threading.Barrier(2)
    errors: list[str] = []

    def pay():
        try:
            barrier.wait()
            stripe_event_process(event=stripe_fake.event("checkout.session.completed", paid_session))
        except Exception as exc:
            errors.append(f"pay: {type(exc).__name__}")
        finally:
            connection.close()

    def cancel():
        try:
            barrier.wait()
            reservation_cancel(reservation=Reservation.objects.get(pk=seat.pk), actor=seat.member)
        except Exception as exc:
            errors.append(f"cancel: {type(exc).__name__}")
        finally:
            connection.close()

    threads = [threading.Thread(target=pay), threading.Thread(target=cancel)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    old, new = Reservation.objects.get(pk=seat.pk), Reservation.objects.get(pk=held.pk)
    assert Payment.objects.get(pk=difference.pk).status == Payment.Status.PAID
    refunds = {r.key: r.amount for r in Refund.objects.all()}
    if new.status == Reservation.Status.CONFIRMED:  # the money went first: moved, cancelling was refused
        assert errors == ["cancel: InvalidTransition"]
        assert old.status == Reservation.Status.CANCELLED and old.end_reason == Reservation.EndReason.MOVED
        assert refunds == {}
        assert sorted(new.payments.values_list("amount", flat=True)) == [Decimal("130.00"), Decimal("320.00")]
    else:  # the member went first: their seat ended (refunded), and the difference came back too
        assert errors == []
        assert old.status == Reservation.Status.CANCELLED and old.end_reason == Reservation.EndReason.MEMBER
        assert new.status == Reservation.Status.CANCELLED
        assert sorted(refunds.values()) == [Decimal("130.00"), Decimal("320.00")]
    assert len(set(refunds)) == len(refunds)  # each refund once
