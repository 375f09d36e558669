"""The member's waitlist pages: answer a seat offer (accept, decline), leave the line."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.utils import timezone

from enrollment.models import GroupAgreement, Reservation, WaitlistEntry
from enrollment.selectors import agreement_current, group_seats_taken, waitlist_position
from enrollment.services.reservations import reservation_cancel, reservation_confirm, reservation_hold
from enrollment.services.seats import groups_refresh_seats
from enrollment.services.waitlist import waitlist_join
from grouport.models import AuditEntry, OutboxMessage
from tests.factories import ALL_TRUE, ATTEST_FORM, GroupFactory, licensed_therapist, member

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]


@pytest.fixture
def line(django_capture_on_commit_callbacks):
    """A full two-seat therapy group with three members in line; one seat was just given up,
    so the first in line holds an offer (and was emailed about it)."""
    group = GroupFactory(
        title="Thursday DBT Therapy", capacity=2, price=Decimal("240.00"), therapist=licensed_therapist("NY")
    )
    seated = []
    for _ in range(2):
        who = member()
        seated.append(
            reservation_confirm(
                reservation=reservation_hold(member=who, group=group, attestations=ALL_TRUE), actor=who
            )
        )
    first, second, third = (waitlist_join(member=member(), group=group) for _ in range(3))
    with django_capture_on_commit_callbacks(execute=True):
        reservation_cancel(reservation=seated[0], actor=seated[0].member)
    first.refresh_from_db()
    assert first.status == WaitlistEntry.Status.OFFERED
    mail.outbox.clear()
    return group, first, second, third


def fresh(entry: WaitlistEntry) -> WaitlistEntry:
    return WaitlistEntry.objects.select_related("offer").get(pk=entry.pk)


def offer_emails_to(who) -> list:
    return [m for m in mail.outbox if m.to == [who.email] and m.subject == "A seat is free for you"]


def test_the_offer_page_names_the_group_the_time_left_and_what_to_confirm(client, line):
    group, first, _second, _third = line
    client.force_login(first.member)
    response = client.get(f"/waitlist/{first.pk}/accept/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "A seat is free for you" in page and group.title in page
    assert "23 h 59 min left" in page
    for name in ("attest_residence", "attest_location", "accept_agreement"):
        assert f'name="{name}"' in page
    assert "New York, the state on my profile" in page
    assert f'action="/waitlist/{first.pk}/decline/"' in page
    assert fresh(first).status == WaitlistEntry.Status.OFFERED  # looking answers nothing


def test_accepting_with_every_statement_keeps_the_seat_and_goes_on_to_pay(
    client, line, django_capture_on_commit_callbacks
):
    group, first, second, _third = line
    client.force_login(first.member)
    offer = fresh(first).offer
    response = client.post(f"/waitlist/{first.pk}/accept/", ATTEST_FORM)
    assert response.status_code == 302
    assert response.url == f"/reservations/{offer.pk}/pay/"
    entry = fresh(first)
    assert entry.status == WaitlistEntry.Status.ACCEPTED
    assert entry.offer.status == Reservation.Status.HELD
    assert entry.offer.attested_at is not None and entry.offer.residence_state == "NY"
    assert entry.offer.agreement is not None
    assert AuditEntry.objects.filter(
        action="waitlist.accepted", object_id=str(first.pk), actor=first.member
    ).exists()
    assert fresh(second).status == WaitlistEntry.Status.WAITING  # the seat stays with the first
    pay = client.get(response.url).content.decode()
    assert "$240.00" in pay
    with django_capture_on_commit_callbacks(execute=True):
        paid = client.post(response.url)
    assert paid.url == f"/reservations/{offer.pk}/"
    assert Reservation.objects.get(pk=offer.pk).status == Reservation.Status.CONFIRMED
    assert [m.subject for m in mail.outbox if m.to == [first.member.email]] == ["Your seat is confirmed"]
    assert group_seats_taken(group=group) == 2


def test_accepting_late_in_the_window_still_leaves_a_full_hold_to_pay(client, line):
    _group, first, _second, _third = line
    client.force_login(first.member)
    late = fresh(first).offer.expires_at - dt.timedelta(minutes=2)
    with time_machine.travel(late, tick=False):
        client.post(f"/waitlist/{first.pk}/accept/", ATTEST_FORM)
    hold = fresh(first).offer
    assert hold.expires_at == late + dt.timedelta(minutes=settings.RESERVATION_HOLD_MINUTES)


def test_an_agreement_updated_while_the_page_was_open_is_shown_and_asked_again(
    client, line, django_capture_on_commit_callbacks
):
    _group, first, _second, _third = line
    client.force_login(first.member)
    read = agreement_current()
    assert (
        f'name="agreement_version" value="{read.version}"'
        in client.get(f"/waitlist/{first.pk}/accept/").content.decode()
    )
    with django_capture_on_commit_callbacks(execute=True):
        updated = GroupAgreement.objects.create(
            version=read.version + 1,
            body="Updated: cameras on.",
            body_es="Actualizado.",
            published_at=timezone.now(),
        )
    response = client.post(
        f"/waitlist/{first.pk}/accept/", {**ATTEST_FORM, "agreement_version": read.version}
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert "The group agreement was just updated. Please read it again before you accept it." in page
    assert "Updated: cameras on." in page
    assert f'name="agreement_version" value="{updated.version}"' in page
    assert 'name="accept_agreement" id="id_accept_agreement" required checked' not in page  # untick
    assert fresh(first).status == WaitlistEntry.Status.OFFERED
    accepted = client.post(
        f"/waitlist/{first.pk}/accept/", {**ATTEST_FORM, "agreement_version": updated.version}
    )
    assert accepted.status_code == 302
    assert fresh(first).offer.agreement == updated


@pytest.mark.parametrize("missing", ["attest_residence", "attest_location", "accept_agreement"])
def test_a_missing_statement_keeps_the_member_on_the_page_and_answers_nothing(client, line, missing):
    _group, first, second, _third = line
    client.force_login(first.member)
    ticked = {k: v for k, v in ATTEST_FORM.items() if k != missing}
    response = client.post(f"/waitlist/{first.pk}/accept/", ticked)
    page = response.content.decode()
    assert response.status_code == 400
    assert "Please confirm each statement below to continue." in page
    assert f'id="id_{missing}-error">Please confirm this statement.' in page
    for name in ticked:  # what they ticked stays ticked
        assert f'name="{name}" id="id_{name}" required checked' in page
    entry = fresh(first)
    assert entry.status == WaitlistEntry.Status.OFFERED
    assert entry.offer.attested_at is None and entry.offer.status == Reservation.Status.HELD
    assert fresh(second).status == WaitlistEntry.Status.WAITING
    assert not AuditEntry.objects.filter(action="waitlist.accepted").exists()


def test_an_offer_that_lapsed_is_no_longer_open_and_went_to_the_next(
    client, line, django_capture_on_commit_callbacks
):
    _group, first, second, _third = line
    client.force_login(first.member)
    later = timezone.now() + dt.timedelta(hours=settings.WAITLIST_OFFER_HOURS, minutes=1)
    with time_machine.travel(later, tick=False):
        # Before the periodic job has run: the page says the time is up and refuses the answer.
        assert "time is up" in client.get(f"/waitlist/{first.pk}/accept/").content.decode()
        refused = client.post(f"/waitlist/{first.pk}/accept/", ATTEST_FORM)
        assert refused.status_code == 409 and "This offer has run out." in refused.content.decode()
        assert fresh(first).offer.attested_at is None
        with django_capture_on_commit_callbacks(execute=True):
            groups_refresh_seats(now=later)
        # After it: the page sends the member back to their groups, and the seat moved on.
        gone = client.get(f"/waitlist/{first.pk}/accept/", follow=True)
        also_gone = client.post(f"/waitlist/{first.pk}/accept/", ATTEST_FORM)
    assert gone.redirect_chain == [("/my/", 302)]
    assert "This offer is no longer open." in gone.content.decode()
    assert also_gone.url == "/my/"
    entry = fresh(first)
    assert entry.status == WaitlistEntry.Status.LAPSED
    assert entry.offer.status == Reservation.Status.EXPIRED and entry.offer.attested_at is None
    assert fresh(second).status == WaitlistEntry.Status.OFFERED
    assert len(offer_emails_to(second.member)) == 1


def test_declining_passes_the_seat_to_the_next_in_line_who_is_emailed(
    client, line, django_capture_on_commit_callbacks
):
    group, first, second, third = line
    client.force_login(first.member)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/waitlist/{first.pk}/decline/", follow=True)
    assert response.redirect_chain == [("/my/", 302)]
    assert "You declined the seat. It goes to the next person in line." in response.content.decode()
    declined = fresh(first)
    assert declined.status == WaitlistEntry.Status.DECLINED
    assert declined.offer.status == Reservation.Status.CANCELLED
    assert declined.offer.end_reason == Reservation.EndReason.OFFER_DECLINED
    passed_on = fresh(second)
    assert passed_on.status == WaitlistEntry.Status.OFFERED
    assert passed_on.offer.status == Reservation.Status.HELD
    assert fresh(third).status == WaitlistEntry.Status.WAITING and waitlist_position(entry=third) == 1
    [row] = OutboxMessage.objects.filter(kind="enrollment.waitlist_offer", payload={"entry": second.pk})
    assert row.status == OutboxMessage.Status.DONE
    assert len(offer_emails_to(second.member)) == 1
    assert not [m for m in mail.outbox if m.to == [first.member.email]]  # nothing to who said no
    assert AuditEntry.objects.filter(
        action="waitlist.declined", object_id=str(first.pk), actor=first.member
    ).exists()
    assert group_seats_taken(group=group) == 2  # the seat is held for the next, not open to anyone


def test_the_offer_cannot_be_declined_twice_or_by_a_get(client, line):
    _group, first, second, _third = line
    client.force_login(first.member)
    assert client.get(f"/waitlist/{first.pk}/decline/").status_code == 405
    assert fresh(first).status == WaitlistEntry.Status.OFFERED
    client.post(f"/waitlist/{first.pk}/decline/")
    again = client.post(f"/waitlist/{first.pk}/decline/")
    assert again.status_code == 409 and "This offer is no longer open." in again.content.decode()
    assert fresh(second).status == WaitlistEntry.Status.OFFERED  # not declined on their behalf


def test_leaving_the_line_while_waiting_moves_those_behind_up(client, line):
    _group, first, second, third = line
    client.force_login(second.member)
    response = client.post(f"/waitlist/{second.pk}/leave/", follow=True)
    assert response.redirect_chain == [("/my/", 302)]
    assert "You have left the waitlist." in response.content.decode()
    assert fresh(second).status == WaitlistEntry.Status.LEFT
    assert waitlist_position(entry=third) == 1
    assert fresh(first).status == WaitlistEntry.Status.OFFERED  # the offer ahead is untouched
    assert AuditEntry.objects.filter(
        action="waitlist.left", object_id=str(second.pk), actor=second.member
    ).exists()
    assert client.get(f"/waitlist/{second.pk}/leave/").status_code == 405


def test_leaving_the_line_with_an_open_offer_declines_it_and_passes_the_seat_on(
    client, line, django_capture_on_commit_callbacks
):
    _group, first, second, _third = line
    client.force_login(first.member)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/waitlist/{first.pk}/leave/")
    left = fresh(first)
    assert left.status == WaitlistEntry.Status.DECLINED
    assert left.offer.status == Reservation.Status.CANCELLED
    assert fresh(second).status == WaitlistEntry.Status.OFFERED
    assert len(offer_emails_to(second.member)) == 1


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/waitlist/{e}/accept/"),
        ("post", "/waitlist/{e}/accept/"),
        ("post", "/waitlist/{e}/decline/"),
        ("post", "/waitlist/{e}/leave/"),
    ],
)
def test_another_members_offer_is_not_found_and_stays_as_it_was(client, line, method, path):
    _group, first, second, _third = line
    client.force_login(second.member)
    response = getattr(client, method)(path.format(e=first.pk), ATTEST_FORM if method == "post" else None)
    assert response.status_code == 404
    assert first.member.email not in response.content.decode()
    entry = fresh(first)
    assert entry.status == WaitlistEntry.Status.OFFERED and entry.offer.attested_at is None
    assert fresh(second).status == WaitlistEntry.Status.WAITING


@pytest.mark.parametrize("path", ["/waitlist/{e}/accept/", "/waitlist/{e}/decline/", "/waitlist/{e}/leave/"])
def test_a_visitor_is_asked_to_sign_in_first(client, line, path):
    _group, first, _second, _third = line
    url = path.format(e=first.pk)
    response = client.post(url, ATTEST_FORM)
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")
    assert fresh(first).status == WaitlistEntry.Status.OFFERED
