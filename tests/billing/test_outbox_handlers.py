"""Billing's side effects as the outbox carries them out: closing a checkout, alerting the care team."""

from decimal import Decimal

import pytest
from django.core import mail

from billing.models import Payment
from billing.services import payment_flag_dispute, refund_issue, refund_mark_failed, stripe_checkout_start
from billing.webhooks import stripe_event_process
from enrollment.models import Reservation
from enrollment.services.reservations import reservation_cancel, reservation_hold
from grouport.models import OutboxMessage
from grouport.outbox import outbox_deliver
from tests.factories import ALL_TRUE, GroupFactory, licensed_therapist, member

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]


@pytest.fixture
def group():
    return GroupFactory(price=Decimal("320.00"), therapist=licensed_therapist("NY"))


def expire_requests(fake) -> list[str]:
    return [r.path for r in fake.requests if r.method == "POST" and r.path.endswith("/expire")]


def only(kind: str) -> OutboxMessage:
    [message] = OutboxMessage.objects.filter(kind=kind)
    return message


def test_a_given_up_seat_closes_its_checkout_page_at_stripe(stripe_fake, group):
    reservation = reservation_hold(member=member(), group=group, attestations=ALL_TRUE)
    payment = stripe_checkout_start(reservation=reservation)
    reservation_cancel(reservation=reservation, actor=reservation.member)
    assert outbox_deliver(message_id=only("billing.checkout_close").pk) == OutboxMessage.Status.DONE
    assert expire_requests(stripe_fake) == [f"/v1/checkout/sessions/{payment.checkout_session_id}/expire"]
    assert stripe_fake.sessions[payment.checkout_session_id]["status"] == "expired"


def test_a_page_stripe_will_not_expire_any_more_is_done_not_retried(stripe_fake, group):
    reservation = reservation_hold(member=member(), group=group, attestations=ALL_TRUE)
    stripe_checkout_start(reservation=reservation)
    reservation_cancel(reservation=reservation, actor=reservation.member)
    # Stripe expires only open pages: this one was completed or expired meanwhile (a 400).
    stripe_fake.fail_next = [400]
    message = only("billing.checkout_close")
    assert outbox_deliver(message_id=message.pk) == OutboxMessage.Status.DONE
    message.refresh_from_db()
    assert (message.attempts, message.last_error) == (1, "")


def test_a_page_paid_before_the_close_went_out_is_left_alone(stripe_fake, group):
    reservation = reservation_hold(member=member(), group=group, attestations=ALL_TRUE)
    payment = stripe_checkout_start(reservation=reservation)
    reservation_cancel(reservation=reservation, actor=reservation.member)
    # The member paid on the page a moment before the close was delivered.
    stripe_event_process(
        event=stripe_fake.event("checkout.session.completed", stripe_fake.pay(payment.checkout_session_id))
    )
    assert Payment.objects.get(pk=payment.pk).status == Payment.Status.PAID
    assert outbox_deliver(message_id=only("billing.checkout_close").pk) == OutboxMessage.Status.DONE
    assert expire_requests(stripe_fake) == []
    assert Reservation.objects.get(pk=reservation.pk).status == Reservation.Status.CANCELLED


@pytest.fixture
def paid(stripe_fake, group):
    reservation = reservation_hold(member=member(), group=group, attestations=ALL_TRUE)
    payment = stripe_checkout_start(reservation=reservation)
    stripe_event_process(
        event=stripe_fake.event("checkout.session.completed", stripe_fake.pay(payment.checkout_session_id))
    )
    return Payment.objects.get(pk=payment.pk)


def test_a_refund_given_up_on_tells_the_care_team_with_ids_only(paid, settings):
    settings.CARE_TEAM_EMAIL = "care@clinic.test"
    refund = refund_issue(payment=paid, amount=Decimal("320.00"), key="staff-1", reason="staff")
    refund_mark_failed(refund_id=refund.pk, reason="Timeout")
    mail.outbox.clear()
    assert outbox_deliver(message_id=only("billing.refund_failed_alert").pk) == OutboxMessage.Status.DONE
    [alert] = mail.outbox
    assert alert.to == ["care@clinic.test"] and alert.subject == "A refund needs your attention"
    assert f"{settings.SITE_URL}/admin/billing/payment/{paid.pk}/change/" in alert.body
    person, group = paid.reservation.member, paid.reservation.group
    for private in (person.email, person.first_name, person.last_name, group.title):
        assert private not in alert.subject and private not in alert.body


@pytest.mark.parametrize("kind", ["billing.dispute_alert", "billing.refund_failed_alert"])
def test_with_no_care_team_address_the_alert_is_skipped_and_the_payment_stays_marked(paid, settings, kind):
    settings.CARE_TEAM_EMAIL = ""
    if kind == "billing.dispute_alert":
        payment_flag_dispute(payment=paid, dispute_id="dp_1")
    else:
        refund = refund_issue(payment=paid, amount=Decimal("10.00"), key="staff-2", reason="staff")
        refund_mark_failed(refund_id=refund.pk, reason="Timeout")
    mail.outbox.clear()
    assert outbox_deliver(message_id=only(kind).pk) == OutboxMessage.Status.DONE
    assert mail.outbox == []
    paid.refresh_from_db()
    # What staff still see in the admin without the email.
    assert paid.disputed if kind == "billing.dispute_alert" else paid.refunds.get().status == "failed"
