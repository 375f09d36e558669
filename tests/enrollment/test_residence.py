"""Eligibility at every moment a seat is given, and a member whose state changes halfway.

Licensing follows where the member lives now: a hold taken in New York is not confirmed by
a payment after the member tells us they live in Texas; a confirmed member who moves is
neither kept silently nor dropped silently; a waitlist offer skips members who may not join.
"""

import threading
import time
from decimal import Decimal

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from billing.models import Payment, Refund
from billing.services import payment_settle, stripe_checkout_start
from billing.webhooks import stripe_event_process
from enrollment.models import Reservation, ResidenceAlert, WaitlistEntry
from enrollment.services import reservations as reservation_services
from enrollment.services.reservations import reservation_cancel, reservation_confirm, reservation_hold
from enrollment.services.waitlist import waitlist_join
from grouport import ports as grouport_ports
from grouport.models import AuditEntry, User
from grouport.roles import STAFF, role_grant
from grouport.services import member_profile_update
from tests.factories import ALL_TRUE, GroupFactory, licensed_therapist, member, sign_in

pytestmark = pytest.mark.django_db

CLINICAL = ("dbt", "therapy", "borderline", "bpd", "diagnos", "mental")


@pytest.fixture
def ny_group():
    return GroupFactory(price=Decimal("320.00"), capacity=5, therapist=licensed_therapist("NY"))


def pay_on_stripe(stripe_fake, payment: Payment) -> None:
    session = stripe_fake.pay(payment.checkout_session_id)
    stripe_event_process(event=stripe_fake.event("checkout.session.completed", session))


def alerts_sent() -> list:
    return [m for m in mail.outbox if m.subject == "A roster needs your review"]


def assert_neutral(message) -> None:
    subject = message.subject.lower()
    assert not any(word in subject for word in CLINICAL), message.subject
    assert "@" not in message.subject


def test_state_changed_on_the_profile_page_after_the_hold_then_paid_is_refunded_and_alerted(
    client, stripe_fake, ny_group, django_capture_on_commit_callbacks
):
    alex = member(state="NY", first_name="Alex", last_name="Rivera")
    reservation = reservation_hold(member=alex, group=ny_group, attestations=ALL_TRUE)
    payment = stripe_checkout_start(reservation=reservation)  # the Checkout page is open in one tab

    sign_in(client, alex)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/account/profile/",
            {"first_name": "Alex", "last_name": "Rivera", "state": "TX", "time_zone": ""},
            follow=True,
        )
    page = response.content.decode()
    assert "cannot be confirmed while you live in Texas" in page and "refunded in full" in page
    alert = ResidenceAlert.objects.get()
    assert (alert.reservation_id, alert.old_state, alert.new_state) == (reservation.pk, "NY", "TX")
    assert {m.to[0] for m in alerts_sent()} == {ny_group.therapist.user.email, settings.CARE_TEAM_EMAIL}

    # The member pays anyway, in the other tab: the payment is recorded and refunded.
    with django_capture_on_commit_callbacks(execute=True):
        pay_on_stripe(stripe_fake, payment)
    reservation.refresh_from_db()
    payment.refresh_from_db()
    assert reservation.status == Reservation.Status.CANCELLED
    assert reservation.end_reason == Reservation.EndReason.NOT_ELIGIBLE
    assert payment.status == Payment.Status.PAID and payment.amount_refunded == Decimal("320.00")
    assert stripe_fake.keys("/v1/refunds") == [f"unseated-{payment.pk}"]
    assert Refund.objects.get().status == Refund.Status.SUCCEEDED
    unseated = [m for m in mail.outbox if m.subject.startswith("We couldn't keep your seat")]
    assert len(unseated) == 1 and "not licensed to treat you" in unseated[0].body
    assert ResidenceAlert.objects.count() == 1  # the open flag is not raised twice
    assert len(alerts_sent()) == 2
    for message in mail.outbox:
        assert "988" in message.body
    for message in alerts_sent():
        assert_neutral(message)
        assert "Alex" not in message.body and alex.email not in message.body and "Texas" not in message.body
    assert AuditEntry.objects.filter(action="profile.state_changed", object_id=str(alex.pk)).exists()
    assert AuditEntry.objects.filter(action="residence_alert.opened").count() == 1


def test_state_changed_through_the_api_for_a_florida_only_group_is_not_confirmed(
    client, stripe_fake, django_capture_on_commit_callbacks
):
    group = GroupFactory(price=Decimal("200.00"), therapist=licensed_therapist("FL"))
    fl = member(state="FL", time_zone="America/Chicago")
    reservation = reservation_hold(member=fl, group=group, attestations=ALL_TRUE)
    payment = stripe_checkout_start(reservation=reservation)
    api = APIClient()
    api.force_authenticate(fl)
    with django_capture_on_commit_callbacks(execute=True):
        answer = api.patch("/api/me/", {"state": "NY", "time_zone": "America/New_York"}, format="json")
    assert answer.status_code == 200, answer.content
    assert answer.json()["state"] == "NY"
    assert any("cannot be confirmed while you live in New York" in n for n in answer.json()["notices"])

    # The API stops offering payment, and says why.
    detail = api.get(f"/api/reservations/{reservation.pk}/").json()
    assert detail["status"] == "held"
    assert detail["next_action"] == {"type": "not_eligible", "url": f"/reservations/{reservation.pk}/"}
    sign_in(client, fl)
    refused = client.get(f"/reservations/{reservation.pk}/pay/")
    assert refused.status_code == 302 and refused["Location"] == f"/reservations/{reservation.pk}/"

    with django_capture_on_commit_callbacks(execute=True):
        pay_on_stripe(stripe_fake, payment)
    reservation.refresh_from_db()
    assert reservation.status == Reservation.Status.CANCELLED
    assert Payment.objects.get(pk=payment.pk).amount_refunded == Decimal("200.00")
    assert len(stripe_fake.refunds) == 1


def test_offline_pay_is_refused_once_the_member_may_not_join(client, ny_group, settings):
    settings.STRIPE_SECRET_KEY = ""
    alex = member(state="NY")
    reservation = reservation_hold(member=alex, group=ny_group, attestations=ALL_TRUE)
    member_profile_update(member=alex, data={"state": "CA"}, actor=alex)
    sign_in(client, alex)
    assert (
        client.get(f"/reservations/{reservation.pk}/pay/")["Location"] == f"/reservations/{reservation.pk}/"
    )
    assert client.post(f"/reservations/{reservation.pk}/pay/").status_code == 302
    assert not Payment.objects.exists()
    page = client.get(f"/reservations/{reservation.pk}/").content.decode()
    assert "can't be confirmed for you right now" in page and "Continue to payment" not in page


def test_a_confirmed_member_who_moves_keeps_the_seat_and_the_therapist_is_asked_to_review(
    client, ny_group, django_capture_on_commit_callbacks
):
    sam = member(state="NY")
    seat = reservation_confirm(
        reservation=reservation_hold(member=sam, group=ny_group, attestations=ALL_TRUE), actor=sam
    )
    api = APIClient()
    api.force_authenticate(sam)
    with django_capture_on_commit_callbacks(execute=True):
        answer = api.patch("/api/me/", {"state": "CA", "time_zone": ""}, format="json")
    [notice, skills] = answer.json()["notices"]
    assert "now live in California" in notice and "therapist will contact you" in notice
    assert "skills groups are open to you" in skills and "988" in skills
    assert Reservation.objects.get(pk=seat.pk).status == Reservation.Status.CONFIRMED  # not dropped
    [member_mail] = [m for m in mail.outbox if m.to == [sam.email]]
    assert "California" in member_mail.body and "988" in member_mail.body
    assert_neutral(member_mail)
    assert len(alerts_sent()) == 2

    sign_in(client, sam)
    assert "therapist may not be licensed to treat you there" in client.get("/my/").content.decode()

    # The therapist sees the flag on the roster, reviews it, and it is audited.
    therapist = ny_group.therapist.user
    from grouport.roles import THERAPIST

    role_grant(therapist, THERAPIST)
    sign_in(client, therapist)
    roster = client.get(f"/admin/groups/group/{ny_group.pk}/roster/").content.decode()
    assert "Needs review" in roster and "⚑ review" in roster
    alert = ResidenceAlert.objects.get()
    empty = client.post(f"/admin/enrollment/residencealert/{alert.pk}/change/", {"review_note": "  "})
    assert empty.status_code == 200 and "This field is required" in empty.content.decode()
    assert ResidenceAlert.objects.get().status == ResidenceAlert.Status.OPEN
    response = client.post(
        f"/admin/enrollment/residencealert/{alert.pk}/change/",
        {"review_note": "Spoke with Sam: moving back in two weeks; joins from NY meanwhile."},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert response["Location"] == f"/admin/groups/group/{ny_group.pk}/roster/"
    alert.refresh_from_db()
    assert alert.status == ResidenceAlert.Status.REVIEWED and alert.reviewed_by == therapist
    assert AuditEntry.objects.filter(action="residencealert.reviewed", actor=therapist).exists()
    assert "Needs review" not in client.get(f"/admin/groups/group/{ny_group.pk}/roster/").content.decode()


def test_another_therapist_cannot_see_or_review_the_flag(client, ny_group):
    sam = member(state="NY")
    reservation_confirm(
        reservation=reservation_hold(member=sam, group=ny_group, attestations=ALL_TRUE), actor=sam
    )
    member_profile_update(member=sam, data={"state": "CA"}, actor=sam)
    from grouport.roles import THERAPIST

    other = licensed_therapist("NY").user
    role_grant(other, THERAPIST)
    sign_in(client, other)
    alert = ResidenceAlert.objects.get()
    assert client.get(f"/admin/enrollment/residencealert/{alert.pk}/change/").status_code == 404
    assert client.get("/admin/enrollment/residencealert/").content.decode().count("/change/") == 0


def test_staff_changing_a_members_state_in_the_admin_goes_through_the_same_rule(client, ny_group):
    sam = member(state="NY")
    reservation_confirm(
        reservation=reservation_hold(member=sam, group=ny_group, attestations=ALL_TRUE), actor=sam
    )
    staff = User.objects.create_user("ops@example.test", "pw-for-ops-1234")
    role_grant(staff, STAFF)
    sign_in(client, staff)
    page = client.get(f"/admin/grouport/user/{sam.pk}/change/")
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and not isinstance(v, list | tuple)}
    data.update(
        state="TX", time_zone="America/Chicago", groups=[], date_joined_0="2026-01-01", date_joined_1="10:00"
    )
    data.pop("last_login", None)
    data.pop("password", None)
    response = client.post(f"/admin/grouport/user/{sam.pk}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert User.objects.get(pk=sam.pk).state == "TX"
    assert ResidenceAlert.objects.filter(new_state="TX").count() == 1


def test_moving_between_allowed_states_or_editing_a_name_raises_nothing(ny_group):
    therapist = licensed_therapist("NY", "NJ")
    group = GroupFactory(price=Decimal("100"), therapist=therapist)
    ana = member(state="NY")
    reservation_confirm(
        reservation=reservation_hold(member=ana, group=group, attestations=ALL_TRUE), actor=ana
    )
    assert member_profile_update(member=ana, data={"first_name": "Ana María"}, actor=ana) == []
    assert member_profile_update(member=ana, data={"state": "NJ"}, actor=ana) == []
    assert not ResidenceAlert.objects.exists()
    assert User.objects.get(pk=ana.pk).first_name == "Ana María"


def full_group_with_line(*waiting_states: str):
    group = GroupFactory(price=Decimal("100"), capacity=1, therapist=licensed_therapist("NY"))
    seated = member(state="NY")
    reservation_confirm(
        reservation=reservation_hold(member=seated, group=group, attestations=ALL_TRUE), actor=seated
    )
    line = [member(state=state) for state in waiting_states]
    entries = [waitlist_join(member=who, group=group) for who in line]
    return group, seated, line, entries


def test_a_freed_seat_skips_the_first_in_line_who_moved_away(django_capture_on_commit_callbacks):
    _group, seated, (first, second), (first_entry, second_entry) = full_group_with_line("NY", "NY")
    member_profile_update(member=first, data={"state": "TX"}, actor=first)
    with django_capture_on_commit_callbacks(execute=True):
        reservation_cancel(reservation=Reservation.objects.get(member=seated), actor=seated)
    first_entry.refresh_from_db()
    second_entry.refresh_from_db()
    assert first_entry.status == WaitlistEntry.Status.WAITING  # keeps the place, passed over
    assert second_entry.status == WaitlistEntry.Status.OFFERED
    offers = [m for m in mail.outbox if m.subject.startswith("A seat is free for you")]
    assert [m.to[0] for m in offers] == [second.email]

    # Moving back makes them first again for the next free seat.
    member_profile_update(member=first, data={"state": "NY"}, actor=first)
    reservation_cancel(
        reservation=second_entry.offer, actor=second, reason=Reservation.EndReason.OFFER_DECLINED
    )
    first_entry.refresh_from_db()
    assert first_entry.status == WaitlistEntry.Status.OFFERED


def test_an_open_offer_is_withdrawn_and_passed_on_when_its_member_moves_away():
    _group, seated, (first, _second), (first_entry, second_entry) = full_group_with_line("NY", "NY")
    reservation_cancel(reservation=Reservation.objects.get(member=seated), actor=seated)
    first_entry.refresh_from_db()
    assert first_entry.status == WaitlistEntry.Status.OFFERED
    offer = first_entry.offer

    notices = member_profile_update(member=first, data={"state": "TX"}, actor=first)
    assert any("keep your place on the waitlist" in n for n in notices)
    first_entry.refresh_from_db()
    second_entry.refresh_from_db()
    assert first_entry.status == WaitlistEntry.Status.WAITING and first_entry.offer is None
    assert Reservation.objects.get(pk=offer.pk).status == Reservation.Status.CANCELLED
    assert second_entry.status == WaitlistEntry.Status.OFFERED  # the seat is not held a day for nobody


def test_accepting_an_offer_from_a_state_that_is_not_allowed_passes_it_on(django_capture_on_commit_callbacks):
    from enrollment.errors import NotEligible
    from enrollment.services.waitlist import waitlist_offer_accept

    _group, seated, (first, _second), (first_entry, second_entry) = full_group_with_line("NY", "NY")
    reservation_cancel(reservation=Reservation.objects.get(member=seated), actor=seated)
    # The state changed behind the profile service's back (say, an import): accepting checks again.
    User.objects.filter(pk=first.pk).update(state="TX")
    first.refresh_from_db()
    with pytest.raises(NotEligible):
        waitlist_offer_accept(
            entry=WaitlistEntry.objects.get(pk=first_entry.pk), member=first, attestations=ALL_TRUE
        )
    second_entry.refresh_from_db()
    assert second_entry.status == WaitlistEntry.Status.OFFERED


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("member_lock", [True, False])
def test_a_profile_change_in_another_tab_and_a_payment_at_the_same_moment(
    stripe_fake, monkeypatch, member_lock
):
    """The profile change holds the member's row; the payment waits for it, then sees Texas.

    The control (``member_lock=False``) shows the race is real: without the lock the payment
    reads New York a moment before the change commits, and confirms a seat for a Texan.
    """
    if not member_lock:
        monkeypatch.setattr(
            reservation_services,
            "lock_member",
            lambda member_id: User.objects.only("id", "state").get(pk=member_id),
        )
    group = GroupFactory(price=Decimal("320.00"), capacity=5, therapist=licensed_therapist("NY"))
    alex = member(state="NY")
    reservation = reservation_hold(member=alex, group=group, attestations=ALL_TRUE)
    payment = stripe_checkout_start(reservation=reservation)
    stripe_fake.pay(payment.checkout_session_id)
    changing = threading.Event()

    [handle] = grouport_ports._residence_change

    def slow_handler(**kwargs):
        changing.set()
        time.sleep(0.5)  # the profile transaction stays open, the member's row locked
        return handle(**kwargs)

    grouport_ports.residence_change_provide(slow_handler)
    outcome: dict = {}

    def change_profile():
        try:
            member_profile_update(member=User.objects.get(pk=alex.pk), data={"state": "TX"}, actor=None)
        finally:
            connection.close()

    def settle():
        try:
            changing.wait(5)
            payment_settle(payment=Payment.objects.get(pk=payment.pk), payment_intent_id="pi_1")
            outcome["status"] = Reservation.objects.get(pk=reservation.pk).status
        finally:
            connection.close()

    try:
        threads = [threading.Thread(target=change_profile), threading.Thread(target=settle)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    finally:
        grouport_ports.residence_change_provide(handle)
    if member_lock:
        assert outcome["status"] == Reservation.Status.CANCELLED
        assert Payment.objects.get(pk=payment.pk).amount_refunded == Decimal("320.00")
    else:
        assert outcome["status"] == Reservation.Status.CONFIRMED  # the bug the lock prevents


def test_each_further_change_of_state_updates_the_open_flag_and_alerts_again(
    ny_group, django_capture_on_commit_callbacks
):
    sam = member(state="NY")
    reservation_confirm(
        reservation=reservation_hold(member=sam, group=ny_group, attestations=ALL_TRUE), actor=sam
    )
    for state in ("TX", "CA"):
        with django_capture_on_commit_callbacks(execute=True):
            member_profile_update(member=sam, data={"state": state}, actor=sam)
    alert = ResidenceAlert.objects.get()
    assert (alert.old_state, alert.new_state, alert.status) == ("NY", "CA", ResidenceAlert.Status.OPEN)
    assert len(alerts_sent()) == 2 * 2  # therapist and care team, each time
    assert AuditEntry.objects.filter(action="residence_alert.updated").count() == 1
    # Back to New York, where they lived before the flag: nothing is left to review, so the
    # flag closes (audited), no one is alerted again, and My groups stops warning them.
    with django_capture_on_commit_callbacks(execute=True):
        member_profile_update(member=sam, data={"state": "NY"}, actor=sam)
    alert.refresh_from_db()
    assert alert.status == ResidenceAlert.Status.REVIEWED and "changed back" in alert.review_note
    assert len(alerts_sent()) == 4
    [closed] = AuditEntry.objects.filter(action__endswith=".reviewed", data__withdrawn=True)
    assert closed.actor == sam and closed.data["reservation"] == alert.reservation_id
    client = Client()
    client.force_login(sam)
    assert "may not be licensed to treat you there" not in client.get("/my/").content.decode()


@pytest.mark.sqlite
def test_with_no_part_filling_the_port_a_change_of_state_is_saved_and_answers_no_notice(
    ny_group, monkeypatch, django_capture_on_commit_callbacks
):
    # The accounts layer alone (seats not installed): the profile still saves and is audited.
    sam = member(state="NY")
    reservation_confirm(
        reservation=reservation_hold(member=sam, group=ny_group, attestations=ALL_TRUE), actor=sam
    )
    monkeypatch.setattr(grouport_ports, "_residence_change", [])
    with django_capture_on_commit_callbacks(execute=True):
        assert member_profile_update(member=sam, data={"state": "CA"}, actor=sam) == []
    assert User.objects.get(pk=sam.pk).state == "CA"
    assert AuditEntry.objects.filter(
        action="profile.state_changed", actor=sam, data={"from": "NY", "to": "CA"}
    ).exists()
    assert not ResidenceAlert.objects.exists() and not alerts_sent()
    assert Reservation.objects.get(member=sam).status == Reservation.Status.CONFIRMED
