"""Refunds: each happens once per purpose, partial ones add up, never more than was paid."""

import datetime as dt
from decimal import Decimal

import pytest
import stripe
from django.core import mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from billing.models import Payment, Refund
from billing.services import refund_issue, refund_send, stripe_checkout_start
from billing.webhooks import stripe_event_process
from enrollment.models import Reservation
from enrollment.services.reservations import reservation_cancel, reservation_hold
from grouport.exceptions import InvalidInput
from grouport.models import OutboxMessage
from grouport.outbox import outbox_deliver
from grouport.tasks import deliver_outbox_message
from tests.factories import ALL_TRUE, GroupFactory, licensed_therapist, member

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid(stripe_fake):
    """A confirmed seat paid through (fake) Stripe, first session in 10 days."""
    group = GroupFactory(
        price=Decimal("320.00"),
        therapist=licensed_therapist("NY"),
        starts_on=timezone.localdate() + dt.timedelta(days=10),
        weekday=(timezone.localdate() + dt.timedelta(days=10)).weekday(),
    )
    reservation = reservation_hold(member=member(), group=group, attestations=ALL_TRUE)
    payment = stripe_checkout_start(reservation=reservation)
    session = stripe_fake.pay(payment.checkout_session_id)
    stripe_event_process(event=stripe_fake.event("checkout.session.completed", session))
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PAID
    return payment


def test_a_retried_refund_sends_one_stripe_request_key(stripe_fake, paid, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = refund_issue(payment=paid, amount=Decimal("100.00"), key="goodwill-1", reason="staff")
        again = refund_issue(payment=paid, amount=Decimal("100.00"), key="goodwill-1", reason="staff")
    assert first.pk == again.pk
    refund_send(refund=first)  # a delivery retried after it already succeeded
    message = OutboxMessage.objects.get(kind="billing.refund_send", payload={"refund": first.pk})
    deliver_outbox_message.apply(args=[message.pk])
    assert stripe_fake.keys("/v1/refunds") == ["goodwill-1"]
    assert len(stripe_fake.refunds) == 1
    paid.refresh_from_db()
    assert paid.amount_refunded == Decimal("100.00")


def test_a_refund_that_got_no_answer_is_sent_again_with_the_same_key(stripe_fake, paid):
    stripe_fake.lose_next = 2  # Stripe refunded, but neither answer came back
    refund = refund_issue(payment=paid, amount=Decimal("50.00"), key="k-1", reason="staff")
    with pytest.raises(stripe.APIConnectionError):
        refund_send(refund=refund)
    assert Refund.objects.get(pk=refund.pk).status == Refund.Status.PENDING
    refund_send(refund=refund)  # the outbox's next try
    assert set(stripe_fake.keys("/v1/refunds")) == {"k-1"}
    assert len(stripe_fake.refunds) == 1
    assert Refund.objects.get(pk=refund.pk).status == Refund.Status.SUCCEEDED


def test_a_refund_stripe_answered_500_is_looked_up_then_asked_for_under_a_new_key(stripe_fake, paid):
    """Stripe replays a 500 for its key: the same key can never succeed. Not listed at
    Stripe, so it did not happen: the next try asks under the next key."""
    stripe_fake.fail_next = [500]
    refund = refund_issue(payment=paid, amount=Decimal("50.00"), key="k-2", reason="staff")
    with pytest.raises(stripe.APIError):
        refund_send(refund=refund)
    refund_send(refund=Refund.objects.get(pk=refund.pk))
    assert stripe_fake.keys("/v1/refunds") == ["k-2", "k-2", "k-2:1"]
    assert len(stripe_fake.refunds) == 1
    assert Refund.objects.get(pk=refund.pk).status == Refund.Status.SUCCEEDED


def test_a_refund_stripe_made_before_answering_500_is_found_not_made_twice(stripe_fake, paid):
    refund = refund_issue(payment=paid, amount=Decimal("50.00"), key="k-3", reason="staff")
    made = stripe_fake.create_refund(
        {
            "amount": "5000",
            "payment_intent": paid.payment_intent_id,
            "metadata": {"refund_id": str(refund.pk)},
        }
    )
    stripe_fake.fail_next = [500]
    refund_send(refund=refund)
    refund.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED and refund.stripe_refund_id == made["id"]
    assert len(stripe_fake.refunds) == 1


def test_partial_refunds_add_up_and_cannot_exceed_the_payment(paid):
    refund_issue(payment=paid, amount=Decimal("120.00"), key="a", reason="staff")
    refund_issue(payment=paid, amount=Decimal("200.00"), key="b", reason="staff")
    paid.refresh_from_db()
    assert paid.amount_refunded == Decimal("320.00") and paid.refundable == Decimal("0.00")
    with pytest.raises(InvalidInput) as err:
        refund_issue(payment=paid, amount=Decimal("0.01"), key="c", reason="staff")
    assert err.value.code == "invalid_refund_amount"
    assert Refund.objects.count() == 2


@pytest.mark.parametrize("amount", [Decimal("0"), Decimal("-5"), Decimal("320.01")])
def test_refund_amount_must_be_positive_and_within_the_payment(paid, amount):
    with pytest.raises(InvalidInput):
        refund_issue(payment=paid, amount=amount, key="x", reason="staff")
    assert not Refund.objects.exists()


def test_the_database_refuses_refunding_more_than_was_paid(paid):
    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.filter(pk=paid.pk).update(amount_refunded=Decimal("320.01"))


def test_cancelling_early_refunds_in_full_with_an_email(
    stripe_fake, paid, django_capture_on_commit_callbacks
):
    reservation = paid.reservation
    with django_capture_on_commit_callbacks(execute=True):
        cancellation = reservation_cancel(reservation=reservation, actor=reservation.member)
    assert cancellation.refunded == Decimal("320.00")
    assert Reservation.objects.get(pk=reservation.pk).status == Reservation.Status.CANCELLED
    assert stripe_fake.keys("/v1/refunds") == [f"cancel-{reservation.pk}-{paid.pk}"]
    refund_mail = [m for m in mail.outbox if m.subject.startswith("Refund")]
    assert len(refund_mail) == 1 and "$320.00" in refund_mail[0].body and "988" in refund_mail[0].body


def test_cancelling_within_48_hours_of_the_first_session_refunds_nothing(stripe_fake, paid):
    reservation = paid.reservation
    first = reservation.group.sessions.order_by("starts_at").first().starts_at
    import time_machine

    with time_machine.travel(first - dt.timedelta(hours=47), tick=False):
        cancellation = reservation_cancel(reservation=reservation, actor=reservation.member)
    assert cancellation.refunded == Decimal("0.00") and stripe_fake.refunds == {}
    assert not Refund.objects.exists()
    assert Reservation.objects.get(pk=reservation.pk).status == Reservation.Status.CANCELLED


def test_cancel_page_states_the_refund_before_cancelling(client, paid):
    client.force_login(paid.reservation.member)
    page = client.get(f"/reservations/{paid.reservation.pk}/cancel/").content.decode()
    assert "You will be refunded $320.00." in page and "48 hours" in page


def test_a_refund_stripe_keeps_refusing_is_marked_failed_and_released(stripe_fake, paid):
    refund = refund_issue(payment=paid, amount=Decimal("50.00"), key="k-bad", reason="staff")
    message = OutboxMessage.objects.get(kind="billing.refund_send", payload={"refund": refund.pk})
    stripe_fake.fail_next = [400] * 100  # Stripe refuses every try
    for _ in range(10):  # the handler's max_attempts, each one due again at once
        OutboxMessage.objects.filter(pk=message.pk).update(available_at=timezone.now())
        outbox_deliver(message_id=message.pk)
    message.refresh_from_db()
    assert message.status == OutboxMessage.Status.FAILED and message.attempts == 10
    paid.refresh_from_db()
    assert Refund.objects.get(pk=refund.pk).status == Refund.Status.FAILED
    assert paid.amount_refunded == Decimal("0.00") and paid.refundable == Decimal("320.00")


def test_a_refund_given_up_then_reported_by_stripe_counts_once(stripe_fake, paid):
    """Issue a refund, give up on it, then Stripe says it went through (twice, even)."""
    from reports.reports import ReportFilters, report_revenue

    refund = refund_issue(payment=paid, amount=Decimal("320.00"), key="late", reason="staff")
    from billing.services import refund_mark_failed

    refund_mark_failed(refund_id=refund.pk, reason="Timeout")
    paid.refresh_from_db()
    assert paid.amount_refunded == Decimal("0.00")  # released: staff may act on it

    charge = {
        "id": "ch_1",
        "object": "charge",
        "payment_intent": paid.payment_intent_id,
        "amount_refunded": 32000,
        "refunds": {"data": [{"id": "re_late", "amount": 32000, "metadata": {"refund_id": str(refund.pk)}}]},
    }
    for _ in range(2):  # a replay, as a new event id, changes nothing more
        stripe_event_process(event=stripe_fake.event("charge.refunded", charge))

    paid.refresh_from_db()
    rows = Refund.objects.filter(payment=paid)
    assert [(r.status, r.amount) for r in rows] == [(Refund.Status.SUCCEEDED, Decimal("320.00"))]
    assert paid.amount_refunded == Decimal("320.00") == sum(r.amount for r in rows)
    today = timezone.localdate()
    table = report_revenue(
        ReportFilters(date_from=today - dt.timedelta(days=1), date_to=today + dt.timedelta(days=1))
    )
    assert table.rows[0][3] == Decimal("320.00")  # the revenue report's "refunded"


def test_refund_events_in_any_order_never_count_money_twice(stripe_fake, paid):
    first = refund_issue(payment=paid, amount=Decimal("100.00"), key="r1", reason="staff")
    refund_send(refund=first)  # Stripe did it; now its events arrive, late and repeated
    refund_id = Refund.objects.get(pk=first.pk).stripe_refund_id
    partial = {
        "id": "ch_1",
        "payment_intent": paid.payment_intent_id,
        "amount_refunded": 10000,
        "refunds": {"data": [{"id": refund_id, "amount": 10000, "metadata": {"refund_id": str(first.pk)}}]},
    }
    # Then a second refund made in Stripe's dashboard, reported with the full list.
    fuller = {
        **partial,
        "amount_refunded": 15000,
        "refunds": {"data": [*partial["refunds"]["data"], {"id": "re_dash", "amount": 5000, "metadata": {}}]},
    }
    for charge in (fuller, partial, fuller, partial):
        stripe_event_process(event=stripe_fake.event("charge.refunded", charge))
    paid.refresh_from_db()
    rows = Refund.objects.filter(payment=paid, status=Refund.Status.SUCCEEDED)
    assert sorted(r.amount for r in rows) == [Decimal("50.00"), Decimal("100.00")]
    assert paid.amount_refunded == Decimal("150.00")


def _refunded_in_report() -> Decimal:
    from reports.reports import ReportFilters, report_revenue

    today = timezone.localdate()
    window = ReportFilters(date_from=today - dt.timedelta(days=1), date_to=today + dt.timedelta(days=1))
    return report_revenue(window).rows[0][3]


def _emails_to(address: str) -> list:
    return [m for m in mail.outbox if m.to == [address]]


def test_a_pending_refund_counts_as_refunded_only_when_stripe_says_it_succeeded(
    stripe_fake, paid, settings, django_capture_on_commit_callbacks
):
    stripe_fake.refund_status = "pending"  # e.g. a bank debit, or a balance too low
    with django_capture_on_commit_callbacks(execute=True):
        refund = refund_issue(payment=paid, amount=Decimal("320.00"), key="p-1", reason="staff")
    refund.refresh_from_db()
    assert refund.status == Refund.Status.PENDING and refund.stripe_refund_id
    assert _emails_to(paid.reservation.member.email) == []  # nobody reads "refunded" yet
    assert _refunded_in_report() == Decimal("0.00")
    stripe_fake.refund_update(refund.stripe_refund_id, "succeeded")
    event = stripe_fake.event("refund.updated", stripe_fake.refunds[refund.stripe_refund_id])
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(2):  # delivered twice
            stripe_event_process(event=event)
    refund.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED
    assert len(_emails_to(paid.reservation.member.email)) == 1
    assert _refunded_in_report() == Decimal("320.00")


@pytest.mark.parametrize("event_type", ["refund.failed", "charge.refund.updated", "refund.updated"])
def test_a_refund_that_fails_releases_its_amount_tells_staff_and_never_the_member(
    stripe_fake, paid, settings, django_capture_on_commit_callbacks, event_type
):
    settings.CARE_TEAM_EMAIL = "care@clinic.test"
    stripe_fake.refund_status = "pending"
    with django_capture_on_commit_callbacks(execute=True):
        refund = refund_issue(payment=paid, amount=Decimal("320.00"), key="f-1", reason="cancelled")
    refund.refresh_from_db()
    stripe_fake.refund_update(refund.stripe_refund_id, "failed", "expired_or_canceled_card")
    with django_capture_on_commit_callbacks(execute=True):
        stripe_event_process(
            event=stripe_fake.event(event_type, stripe_fake.refunds[refund.stripe_refund_id])
        )
    refund.refresh_from_db()
    paid.refresh_from_db()
    assert refund.status == Refund.Status.FAILED and refund.failure_reason == "expired_or_canceled_card"
    assert paid.amount_refunded == Decimal("0.00") and paid.refundable == Decimal("320.00")
    assert _emails_to(paid.reservation.member.email) == []
    (alert,) = _emails_to("care@clinic.test")
    assert "refund" in alert.subject.lower() and paid.reservation.member.email not in alert.body
    assert f"/admin/billing/payment/{paid.pk}/change/" in alert.body
    assert _refunded_in_report() == Decimal("0.00")


def test_a_card_refund_reported_done_then_failed_stops_counting(
    stripe_fake, paid, settings, django_capture_on_commit_callbacks
):
    settings.CARE_TEAM_EMAIL = "care@clinic.test"
    with django_capture_on_commit_callbacks(execute=True):
        refund = refund_issue(payment=paid, amount=Decimal("100.00"), key="s-1", reason="staff")
    refund.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED and _refunded_in_report() == Decimal("100.00")
    stripe_fake.refund_update(refund.stripe_refund_id, "failed", "lost_or_stolen_card")
    charge_event = {
        "id": "ch_9",
        "payment_intent": paid.payment_intent_id,
        "amount_refunded": 0,
        "refunds": {"data": [stripe_fake.refunds[refund.stripe_refund_id]]},
    }
    with django_capture_on_commit_callbacks(execute=True):
        stripe_event_process(event=stripe_fake.event("charge.refunded", charge_event))
    refund.refresh_from_db()
    paid.refresh_from_db()
    assert refund.status == Refund.Status.FAILED and paid.amount_refunded == Decimal("0.00")
    assert _refunded_in_report() == Decimal("0.00")
    assert len(_emails_to("care@clinic.test")) == 1


def test_a_refund_stripe_said_failed_stays_failed_when_an_older_event_arrives_late(
    stripe_fake, paid, django_capture_on_commit_callbacks
):
    stripe_fake.refund_status = "pending"
    with django_capture_on_commit_callbacks(execute=True):
        refund = refund_issue(payment=paid, amount=Decimal("100.00"), key="late-ok", reason="staff")
    refund.refresh_from_db()
    created = dict(stripe_fake.refunds[refund.stripe_refund_id], status="succeeded")  # a snapshot
    stripe_fake.refund_update(refund.stripe_refund_id, "failed", "expired_or_canceled_card")
    stripe_event_process(
        event=stripe_fake.event("refund.failed", stripe_fake.refunds[refund.stripe_refund_id])
    )
    for late in (
        stripe_fake.event("refund.updated", created),
        stripe_fake.event(
            "charge.refunded",
            {"id": "ch_2", "payment_intent": paid.payment_intent_id, "amount_refunded": 10000,
             "refunds": {"data": [created]}},
        ),
    ):  # fmt: skip
        stripe_event_process(event=late)
    refund.refresh_from_db()
    paid.refresh_from_db()
    assert refund.status == Refund.Status.FAILED and paid.amount_refunded == Decimal("0.00")
    assert _refunded_in_report() == Decimal("0.00")


def test_a_stale_total_without_a_list_is_checked_against_stripes_own_list(stripe_fake, paid):
    """Charges no longer list their refunds: a late total of 100.00 after the refund failed
    must not be taken for money that went back."""
    refund = refund_issue(payment=paid, amount=Decimal("100.00"), key="stale", reason="staff")
    refund_send(refund=refund)
    refund.refresh_from_db()
    stripe_fake.refund_update(refund.stripe_refund_id, "failed", "lost_or_stolen_card")
    stripe_event_process(
        event=stripe_fake.event("refund.failed", stripe_fake.refunds[refund.stripe_refund_id])
    )
    late = {"id": "ch_3", "payment_intent": paid.payment_intent_id, "amount_refunded": 10000}
    stripe_event_process(event=stripe_fake.event("charge.refunded", late))
    assert [(r.status, r.amount) for r in Refund.objects.filter(payment=paid)] == [
        (Refund.Status.FAILED, Decimal("100.00"))
    ]
    # A refund made in Stripe's dashboard, reported the same way, is found in Stripe's list.
    dashboard = stripe_fake.create_refund({"amount": "2500", "payment_intent": paid.payment_intent_id})
    stripe_event_process(
        event=stripe_fake.event("charge.refunded", {**late, "id": "ch_4", "amount_refunded": 2500})
    )
    outside = Refund.objects.get(stripe_refund_id=dashboard["id"])
    assert outside.status == Refund.Status.SUCCEEDED and outside.amount == Decimal("25.00")


def test_a_charge_listing_two_of_our_refunds_newest_first_is_handled(stripe_fake, paid):
    first = refund_issue(payment=paid, amount=Decimal("10.00"), key="two-1", reason="staff")
    second = refund_issue(payment=paid, amount=Decimal("20.00"), key="two-2", reason="staff")
    for refund in (first, second):
        refund_send(refund=refund)
    ids = [Refund.objects.get(pk=r.pk).stripe_refund_id for r in (second, first)]  # Stripe: newest first
    charge = {
        "id": "ch_5",
        "payment_intent": paid.payment_intent_id,
        "amount_refunded": 3000,
        "refunds": {"data": [stripe_fake.refunds[i] for i in ids]},
    }
    stripe_event_process(event=stripe_fake.event("charge.refunded", charge))  # no lock-order error
    paid.refresh_from_db()
    assert paid.amount_refunded == Decimal("30.00")
