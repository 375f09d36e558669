"""Rosters, attendance, session cancelling, moving members and staff cancellations."""

import csv
import io
from decimal import Decimal

import pytest
from django.core import mail

from attendance.models import Attendance
from billing.models import Payment
from enrollment.models import Reservation
from grouport.models import AuditEntry
from groups.models import GroupSession
from tests.factories import GroupFactory, licensed_therapist, seated, sign_in

pytestmark = pytest.mark.django_db


def test_roster_shows_members_holds_waitlist_and_viewing_it_is_audited(client, clinic):
    group = clinic["group_a"]
    sign_in(client, clinic["a"].user)
    response = client.get(f"/admin/groups/group/{group.pk}/roster/", REMOTE_ADDR="203.0.113.9")
    body = response.content.decode()
    ana = Reservation.objects.get(group=group).member
    assert "Ana Alpha" in body and ana.email in body and "New York" in body and "Eastern" in body
    assert "Nobody is waiting." in body
    entry = AuditEntry.objects.get(action="roster.viewed")
    assert (entry.actor, entry.object_id, entry.ip_address) == (
        clinic["a"].user,
        str(group.pk),
        "203.0.113.9",
    )


def test_marking_attendance_for_the_whole_roster_audits_each_row(client, clinic):
    group = clinic["group_a"]
    second = seated(group, at=None, first_name="Cy", last_name="Alpha")
    first = Reservation.objects.filter(group=group).exclude(pk=second.pk).get()
    session = group.sessions.get(number=1)
    sign_in(client, clinic["a"].user)
    page = client.get(f"/admin/groups/groupsession/{session.pk}/attendance/").content.decode()
    assert "Cy Alpha" in page and "Ana Alpha" in page
    response = client.post(
        f"/admin/groups/groupsession/{session.pk}/attendance/",
        {f"r{first.pk}": "present", f"r{second.pk}": "excused"},
    )
    assert response.status_code == 302
    assert dict(Attendance.objects.filter(session=session).values_list("reservation_id", "status")) == {
        first.pk: "present",
        second.pk: "excused",
    }
    marked = AuditEntry.objects.filter(action="attendance.marked", actor=clinic["a"].user)
    assert sorted(e.data["reservation"] for e in marked) == sorted([first.pk, second.pk])
    # The same marks again change nothing and write nothing.
    client.post(
        f"/admin/groups/groupsession/{session.pk}/attendance/",
        {f"r{first.pk}": "present", f"r{second.pk}": "excused"},
    )
    assert AuditEntry.objects.filter(action="attendance.marked").count() == 2
    roster = client.get(f"/admin/groups/group/{group.pk}/roster/").content.decode()
    assert "100%" in roster and "0%" in roster  # present 1/1; excused 0/1


def test_attendance_rejects_members_of_another_group(clinic):
    from attendance.services.attendance import attendance_mark
    from grouport.exceptions import InvalidInput

    session = clinic["group_a"].sessions.first()
    stranger = Reservation.objects.get(group=clinic["group_b"])
    with pytest.raises(InvalidInput):
        attendance_mark(session=session, marks={stranger.pk: "present"}, actor=clinic["a"].user)
    with pytest.raises(InvalidInput):
        attendance_mark(session=session, marks={stranger.pk: "sleeping"}, actor=clinic["a"].user)
    assert not Attendance.objects.exists()


def test_roster_csv_has_the_roster_columns_and_a_neutral_name(client, clinic):
    group = clinic["group_a"]
    sign_in(client, clinic["a"].user)
    response = client.get(f"/admin/groups/group/{group.pk}/roster.csv")
    assert response["Content-Disposition"] == f'attachment; filename="roster-{group.pk}.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:8] == [
        "name", "email", "state", "time zone", "joined on", "agreement", "texts", "attendance rate"
    ]  # fmt: skip
    assert rows[1][0] == "Ana Alpha" and len(rows) == 2 and rows[1][6] == "off"
    # A member who asked for texts shows so (and one who replied STOP, "stopped").
    from texting.models import TextSubscription

    ana = Reservation.objects.get(group=group).member
    TextSubscription.objects.create(member=ana, phone="+12125550123", status="on")
    rows = list(
        csv.reader(io.StringIO(client.get(f"/admin/groups/group/{group.pk}/roster.csv").content.decode()))
    )
    assert rows[1][6] == "on"
    assert "<td>on</td>" in client.get(f"/admin/groups/group/{group.pk}/roster/").content.decode()
    assert AuditEntry.objects.filter(action="roster.exported", actor=clinic["a"].user).count() == 2  # each


def test_therapist_cancels_a_session_and_members_are_told(client, clinic, django_capture_on_commit_callbacks):
    session = clinic["group_a"].sessions.get(number=2)
    sign_in(client, clinic["a"].user)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/admin/groups/groupsession/", {"action": "cancel_sessions", "_selected_action": [session.pk]}
        )
    assert GroupSession.objects.get(pk=session.pk).status == GroupSession.Status.CANCELLED
    assert [
        m.subject.endswith("is cancelled") and m.subject.startswith("Your session on") for m in mail.outbox
    ] == [True]
    response = client.post(f"/admin/groups/groupsession/{session.pk}/change/", {"note": "Back next week."})
    assert response.status_code == 302
    assert GroupSession.objects.get(pk=session.pk).note == "Back next week."
    assert AuditEntry.objects.filter(action="session.note").exists()


def test_staff_move_a_member_with_their_payment(client, clinic, django_capture_on_commit_callbacks):
    source = clinic["group_a"]
    reservation = Reservation.objects.get(group=source)
    Payment.objects.create(
        reservation=reservation, provider="offline", status="paid", amount=Decimal("200.00")
    )
    target = GroupFactory(title="Charlie group", therapist=licensed_therapist("NY"), capacity=1)
    sign_in(client, clinic["staff"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/admin/enrollment/reservation/{reservation.pk}/move/", {"to_group": target.pk}
        )
    assert response.status_code == 302
    moved = Reservation.objects.get(group=target)
    assert moved.member_id == reservation.member_id and moved.status == "confirmed"
    assert Reservation.objects.get(pk=reservation.pk).status == "cancelled"
    assert moved.payments.get().amount == Decimal("200.00")
    assert [m.subject for m in mail.outbox] == ["Your seat has moved to another group"]
    assert "Charlie group" in mail.outbox[0].body
    assert "$200.00 carries over" in mail.outbox[0].body
    # Both rosters changed: A's therapist no longer sees them, C's does.
    sign_in(client, clinic["a"].user)
    assert "Ana Alpha" not in client.get(f"/admin/groups/group/{source.pk}/roster/").content.decode()
    # Full target: the next move is refused with a clear message and nothing changes.
    sign_in(client, clinic["staff"])
    other = Reservation.objects.get(group=clinic["group_b"])
    page = client.post(
        f"/admin/enrollment/reservation/{other.pk}/move/", {"to_group": target.pk}
    ).content.decode()
    assert "no free seat" in page
    assert Reservation.objects.get(pk=other.pk).status == "confirmed"


def test_staff_cancel_with_or_without_refund(client, clinic, django_capture_on_commit_callbacks):
    a = Reservation.objects.get(group=clinic["group_a"])
    b = Reservation.objects.get(group=clinic["group_b"])
    for r in (a, b):
        Payment.objects.create(reservation=r, provider="offline", status="paid", amount=Decimal("200.00"))
    sign_in(client, clinic["staff"])
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/admin/enrollment/reservation/", {"action": "cancel_with_refund", "_selected_action": [a.pk]}
        )
        client.post(
            "/admin/enrollment/reservation/", {"action": "cancel_without_refund", "_selected_action": [b.pk]}
        )
    assert Payment.objects.get(reservation=a).amount_refunded == Decimal("200.00")
    assert Payment.objects.get(reservation=b).amount_refunded == Decimal("0.00")
    assert set(Reservation.objects.filter(pk__in=[a.pk, b.pk]).values_list("status", flat=True)) == {
        "cancelled"
    }


def test_staff_partial_refund_form_refunds_once_per_submission(client, clinic):
    reservation = Reservation.objects.get(group=clinic["group_a"])
    payment = Payment.objects.create(
        reservation=reservation, provider="offline", status="paid", amount=Decimal("200.00")
    )
    sign_in(client, clinic["staff"])
    form = {"amount": "50.00", "reason": "goodwill", "key": f"staff-{payment.pk}-abc"}
    client.post(f"/admin/billing/payment/{payment.pk}/refund/", form)
    client.post(f"/admin/billing/payment/{payment.pk}/refund/", form)  # double submit
    payment.refresh_from_db()
    assert payment.amount_refunded == Decimal("50.00")
    too_much = client.post(
        f"/admin/billing/payment/{payment.pk}/refund/", {**form, "amount": "151.00", "key": "other"}
    )
    assert "at most 150.00" in too_much.content.decode()


def test_staff_changes_made_deep_in_services_still_record_the_ip(client, clinic):
    reservation = Reservation.objects.get(group=clinic["group_a"])
    sign_in(client, clinic["staff"])
    client.post(
        "/admin/enrollment/reservation/",
        {"action": "cancel_without_refund", "_selected_action": [reservation.pk]},
        REMOTE_ADDR="198.51.100.7",
    )
    entry = AuditEntry.objects.get(action="reservation.cancelled", object_id=str(reservation.pk))
    assert (entry.actor, entry.ip_address) == (clinic["staff"], "198.51.100.7")


def test_roster_csv_neutralises_spreadsheet_formulas(client, clinic):
    group = clinic["group_a"]
    member = Reservation.objects.get(group=group).member
    member.first_name, member.last_name = '=HYPERLINK("http://x")', ""
    member.save()
    sign_in(client, clinic["a"].user)
    rows = list(
        csv.reader(io.StringIO(client.get(f"/admin/groups/group/{group.pk}/roster.csv").content.decode()))
    )
    assert rows[1][0].startswith("'=")


def test_the_admin_shows_times_in_the_viewers_zone_and_says_which(client, clinic):
    """A Thursday 6 PM Central session read "Dec. 25, midnight": UTC, unlabelled."""
    import datetime as dt

    from groups.models import GroupSession
    from tests.factories import sign_in

    staff = clinic["staff"]
    staff.time_zone = "America/Chicago"
    staff.save(update_fields=["time_zone"])
    session = GroupSession.objects.filter(group=clinic["group_a"]).order_by("number").first()
    GroupSession.objects.filter(pk=session.pk).update(
        starts_at=dt.datetime(2026, 12, 25, 0, 0, tzinfo=dt.UTC),
        ends_at=dt.datetime(2026, 12, 25, 1, 30, tzinfo=dt.UTC),
    )
    sign_in(client, staff)
    page = client.get("/admin/groups/groupsession/").content.decode()
    assert "Times are in Central time (America/Chicago)" in page
    assert "Thu Dec 24, 2026, 6:00 PM CST" in page and "midnight" not in page
    detail = client.get(f"/admin/groups/groupsession/{session.pk}/change/").content.decode()
    assert "Dec. 24, 2026, 6 p.m." in detail  # Django's own format, in the viewer's zone
