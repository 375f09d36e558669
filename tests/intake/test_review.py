"""The intake review, time frozen: held for review, approved, paid within the window,
confirmed; declined kindly; a review not made in time frees the seat for the waitlist; a
member who moved away is not approved."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.test import Client

from enrollment.errors import HoldExpired, NotEligible
from enrollment.models import Reservation, WaitlistEntry
from enrollment.services.review import reservation_review_approve, reservation_review_decline
from enrollment.services.seats import groups_refresh_seats
from enrollment.services.waitlist import waitlist_join
from grouport.models import AuditEntry
from grouport.services import member_profile_update
from tests.enrollment.test_api import api_for, reserve
from tests.factories import GroupFactory, licensed_therapist, member, sign_in

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]
T0 = dt.datetime(2026, 2, 2, 15, 0, tzinfo=dt.UTC)


@pytest.fixture
def reviewed(settings):
    settings.STRIPE_SECRET_KEY = ""  # the offline stand-in takes the money
    with time_machine.travel(T0 - dt.timedelta(days=1), tick=False):
        return GroupFactory(
            capacity=1,
            price=Decimal("150"),
            therapist=licensed_therapist("NY"),
            requires_review=True,
            starts_on=dt.date(2026, 3, 3),
            weekday=1,
        )


def test_request_review_approve_pay_within_the_window_confirmed(
    reviewed, settings, django_capture_on_commit_callbacks
):
    ana = member()
    therapist = reviewed.therapist.user
    with time_machine.travel(T0, tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            answer = reserve(api_for(ana), reviewed)
        assert answer.status_code == 201
        assert answer.json()["status"] == "review"
        seat = Reservation.objects.get(pk=answer.json()["id"])
        assert seat.expires_at == T0 + dt.timedelta(days=settings.REVIEW_HOLD_DAYS)
        to_member = [m.subject for m in mail.outbox if m.to == [ana.email]]
        to_clinic = {m.to[0] for m in mail.outbox if m.subject == "An intake waits for your review"}
        assert to_member == ["Your seat is held for you"]
        assert therapist.email in to_clinic
        # No payment before the review: the pay page sends them back to the reservation.
        client = Client()
        sign_in(client, ana)
        assert client.get(f"/reservations/{seat.pk}/pay/")["Location"] == f"/reservations/{seat.pk}/"
        page = client.get(f"/reservations/{seat.pk}/").content.decode()
        assert "while a clinician reviews your intake" in page
    with time_machine.travel(T0 + dt.timedelta(days=1), tick=False):
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            reservation_review_approve(reservation=seat, actor=therapist, note="Spoke with her; a good fit.")
        seat.refresh_from_db()
        assert seat.status == Reservation.Status.HELD
        assert seat.expires_at == T0 + dt.timedelta(days=1, hours=settings.REVIEW_PAYMENT_HOURS)
        assert [m.subject for m in mail.outbox] == ["You can pay for your seat now"]
        assert f"/reservations/{seat.pk}/" in mail.outbox[0].body
        entry = AuditEntry.objects.get(action="reservation.held", actor=therapist)
        assert entry.data["from"] == "review" and "good fit" not in str(entry.data)
    with time_machine.travel(T0 + dt.timedelta(days=1, hours=20), tick=False):
        paid = client.post(f"/reservations/{seat.pk}/pay/")
        assert paid.status_code == 302
        seat.refresh_from_db()
        assert seat.status == Reservation.Status.CONFIRMED


def test_declined_kindly_and_the_seat_goes_to_the_waitlist(reviewed, django_capture_on_commit_callbacks):
    ana, ben = member(), member()
    with time_machine.travel(T0, tick=False):
        seat = Reservation.objects.get(pk=reserve(api_for(ana), reviewed).json()["id"])
        waitlist_join(member=ben, group=reviewed)
        with pytest.raises(Exception) as no_note:
            reservation_review_decline(reservation=seat, actor=reviewed.therapist.user, note=" ")
        assert no_note.value.code == "note_required"
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            reservation_review_decline(
                reservation=seat, actor=reviewed.therapist.user, note="Needs a higher level of care first."
            )
    seat.refresh_from_db()
    assert (seat.status, seat.end_reason) == (Reservation.Status.CANCELLED, "review_declined")
    declined = next(m for m in mail.outbox if m.to == [ana.email])
    assert declined.subject == "About your request to join a group"
    assert "not the right fit for you right now" in declined.body and "988" in declined.body
    assert "higher level of care" not in declined.body  # the clinician's note stays with the clinic
    assert WaitlistEntry.objects.get(member=ben).status == WaitlistEntry.Status.OFFERED


def test_a_review_not_made_in_time_frees_the_seat_and_the_waitlist_gets_the_offer(reviewed, settings):
    ana, ben = member(), member()
    with time_machine.travel(T0, tick=False):
        seat = Reservation.objects.get(pk=reserve(api_for(ana), reviewed).json()["id"])
        waitlist_join(member=ben, group=reviewed)
    assert WaitlistEntry.objects.get(member=ben).status == WaitlistEntry.Status.WAITING
    later = T0 + dt.timedelta(days=settings.REVIEW_HOLD_DAYS, seconds=1)
    with time_machine.travel(later, tick=False):
        groups_refresh_seats(now=later)
        with pytest.raises(HoldExpired):
            reservation_review_approve(reservation=seat, actor=reviewed.therapist.user)
    seat.refresh_from_db()
    assert seat.status == Reservation.Status.EXPIRED
    offer = WaitlistEntry.objects.get(member=ben)
    assert offer.status == WaitlistEntry.Status.OFFERED
    # An offer in a reviewed group, accepted, waits for its review too.
    assert offer.offer.status == Reservation.Status.HELD


def test_an_accepted_waitlist_offer_in_a_reviewed_group_is_held_for_review(reviewed):
    from enrollment.services.waitlist import waitlist_offer_accept
    from tests.factories import ALL_TRUE

    ana, ben = member(), member()
    with time_machine.travel(T0, tick=False):
        seat = Reservation.objects.get(pk=reserve(api_for(ana), reviewed).json()["id"])
        waitlist_join(member=ben, group=reviewed)
        reservation_review_decline(reservation=seat, actor=reviewed.therapist.user, note="Not now.")
        entry = WaitlistEntry.objects.get(member=ben)
        offer, action = waitlist_offer_accept(entry=entry, member=ben, attestations=ALL_TRUE)
    assert offer.status == Reservation.Status.REVIEW and action.type == "review"


def test_a_member_who_moved_out_of_state_before_approval_is_not_approved(reviewed):
    ana = member()
    with time_machine.travel(T0, tick=False):
        seat = Reservation.objects.get(pk=reserve(api_for(ana), reviewed).json()["id"])
        member_profile_update(member=ana, data={"state": "TX"}, actor=ana)
        with pytest.raises(NotEligible):
            reservation_review_approve(reservation=seat, actor=reviewed.therapist.user)
    seat.refresh_from_db()
    assert seat.status == Reservation.Status.REVIEW  # nothing changed; the residence flag is open
    assert seat.residence_alerts.filter(status="open").exists()


def test_only_the_groups_therapist_and_staff_decide_through_the_api(reviewed):
    from grouport.roles import THERAPIST, role_grant

    ana = member()
    with time_machine.travel(T0, tick=False):
        seat_id = reserve(api_for(ana), reviewed).json()["id"]
    other = licensed_therapist("NY").user
    role_grant(other, THERAPIST)
    role_grant(reviewed.therapist.user, THERAPIST)

    def api_with_second_factor(user):
        from rest_framework.test import APIClient

        client = APIClient()
        client.force_authenticate(user)
        return client

    with time_machine.travel(T0 + dt.timedelta(hours=1), tick=False):
        outsider = api_with_second_factor(other)
        assert outsider.get("/api/reviews/").json() == []
        assert (
            outsider.post(f"/api/reviews/{seat_id}/", {"decision": "approve"}, format="json").status_code
            == 404
        )
        mine = api_with_second_factor(reviewed.therapist.user)
        listed = mine.get("/api/reviews/").json()
        assert [r["id"] for r in listed] == [seat_id] and listed[0]["intake"]["age"] >= 18
        done = mine.post(f"/api/reviews/{seat_id}/", {"decision": "approve", "note": "ok"}, format="json")
        assert done.status_code == 200 and done.json()["status"] == "held"
        again = mine.post(f"/api/reviews/{seat_id}/", {"decision": "approve"}, format="json")
        assert again.status_code == 409


def test_the_admin_review_page_shows_the_intake_and_decides_in_one_click(reviewed):
    from grouport.roles import THERAPIST, role_grant

    ana = member()
    with time_machine.travel(T0, tick=False):
        seat_id = reserve(api_for(ana), reviewed).json()["id"]
    therapist = reviewed.therapist.user
    role_grant(therapist, THERAPIST)
    client = Client()
    sign_in(client, therapist)
    url = f"/admin/enrollment/seatreview/{seat_id}/change/"
    with time_machine.travel(T0 + dt.timedelta(hours=2), tick=False):
        page = client.get(url).content.decode()
        assert "(212) 555-0100" in page and "Pat Doe (Sibling)" in page and "v1, signed" in page
        assert 'name="_approve"' in page and 'name="_decline"' in page and 'name="_save"' not in page
        assert AuditEntry.objects.filter(actor=therapist, action="admin.record_viewed").exists()
        # Declining needs a note: nothing changes without one.
        refused = client.post(url, {"_decline": "Decline", "review_note": ""}, follow=True)
        assert "Write a note for the record" in refused.content.decode()
        assert Reservation.objects.get(pk=seat_id).status == Reservation.Status.REVIEW
        done = client.post(url, {"_approve": "Approve", "review_note": "Spoke on the phone."})
        assert done.status_code == 302 and done["Location"] == "/admin/enrollment/seatreview/"
    seat = Reservation.objects.get(pk=seat_id)
    assert (seat.status, seat.reviewed_by, seat.review_note) == ("held", therapist, "Spoke on the phone.")
    # Decided: the review is gone from the queue.
    assert client.get(url).status_code == 404


def test_a_decline_and_a_lapsed_review_each_tell_the_care_team_and_a_lapse_tells_the_member(
    reviewed, settings, django_capture_on_commit_callbacks
):
    settings.CARE_TEAM_EMAIL = "care@clinic.test"
    ana, ben = member(), member()
    with time_machine.travel(T0, tick=False):
        first = Reservation.objects.get(pk=reserve(api_for(ana), reviewed).json()["id"])
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            reservation_review_decline(reservation=first, actor=reviewed.therapist.user, note="Not now.")
        care = [m for m in mail.outbox if m.to == ["care@clinic.test"]]
        assert [m.subject for m in care] == ["Someone to reach out to"]
        assert ana.email not in care[0].body and "Not now." not in care[0].body
        second = Reservation.objects.get(pk=reserve(api_for(ben), reviewed).json()["id"])
    later = T0 + dt.timedelta(days=settings.REVIEW_HOLD_DAYS, minutes=1)
    mail.outbox.clear()
    with time_machine.travel(later, tick=False), django_capture_on_commit_callbacks(execute=True):
        groups_refresh_seats(now=later)
    second.refresh_from_db()
    assert second.status == Reservation.Status.EXPIRED
    [to_ben] = [m for m in mail.outbox if m.to == [ben.email]]
    assert to_ben.subject == "About the seat we held for you" and "not reviewed in time" in to_ben.body
    assert [m.subject for m in mail.outbox if m.to == ["care@clinic.test"]] == [
        "A review was not made in time"
    ]


def test_a_group_closed_while_the_review_waited_takes_no_approval(reviewed):
    from enrollment.errors import GroupClosed
    from grouport.transitions import transition
    from groups.models import Group

    ana = member()
    with time_machine.travel(T0, tick=False):
        seat = Reservation.objects.get(pk=reserve(api_for(ana), reviewed).json()["id"])
        transition(reviewed, to=Group.Status.CLOSED, actor=None)  # staff closed it meanwhile
        with pytest.raises(GroupClosed):
            reservation_review_approve(reservation=seat, actor=reviewed.therapist.user)
    seat.refresh_from_db()
    assert seat.status == Reservation.Status.REVIEW
