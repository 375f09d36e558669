"""Joining each session through grouport: a personal join link, a location check-in,
attendance that keeps itself, "I can't make it this week", and the group's attendance rule."""

import datetime as dt
import json
from decimal import Decimal

import pytest
import time_machine
from django.conf import settings
from django.core import mail, signing
from django.test import Client
from rest_framework.test import APIClient

from attendance.join import join_path, join_token
from attendance.models import Attendance, AttendanceFlag, CheckIn
from attendance.services.attendance import attendance_flag_review, attendance_mark, sessions_close
from enrollment.models import Reservation
from enrollment.services.reservations import reservation_cancel
from grouport.models import AuditEntry, OutboxMessage, User
from grouport.outbox import outbox_deliver
from grouport.roles import THERAPIST, role_grant
from grouport.states import OUTSIDE_US
from groups.models import Group, GroupSession
from groups.services import session_cancel
from tests.factories import GroupFactory, licensed_therapist, member, seated, sign_in

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]
VIDEO = "https://video.example.com/private-room-7"
# The emergency-plan answer every therapy check-in gives: at the usual address.
AT_HOME = {"at_usual_address": "yes"}
AT_HOME_JSON = {"at_usual_address": True}


@pytest.fixture
def group():
    with time_machine.travel(dt.datetime(2026, 1, 1, tzinfo=dt.UTC), tick=False):
        return GroupFactory(
            title="Tuesday DBT Therapy",
            therapist=licensed_therapist("NY", "NJ"),
            starts_on=dt.date(2026, 3, 3),
            weekday=1,
            start_time=dt.time(19, 0),
            weeks=8,
            price=Decimal("0"),
            video_url=VIDEO,
        )


def seat(group, who=None):
    """Seated on 2 January, before the groups of this file begin."""
    return seated(group, who, at=dt.datetime(2026, 1, 2, tzinfo=dt.UTC))


def session(group, number=1) -> GroupSession:
    return group.sessions.get(number=number)


def at(s: GroupSession, minutes: int) -> dt.datetime:
    return s.starts_at + dt.timedelta(minutes=minutes)


def signed_in(who) -> Client:
    client = Client()
    client.force_login(who)
    return client


def link(reservation, s) -> str:
    return join_path(reservation_id=reservation.pk, session_id=s.pk)


# --- The join link opens for its member only, in its window


def test_the_link_opens_fifteen_minutes_before_and_closes_at_the_end(group):
    r = seat(group)
    s1 = session(group)
    client = signed_in(r.member)
    with time_machine.travel(at(s1, -16), tick=False):
        early = client.get(link(r, s1)).content.decode()
    assert "opens at 6:45 PM" in early and VIDEO not in early
    with time_machine.travel(at(s1, -15), tick=False):
        page = client.get(link(r, s1)).content.decode()
    assert "Where are you right now?" in page and VIDEO not in page  # not before the check-in
    with time_machine.travel(s1.ends_at, tick=False):
        ended = client.get(link(r, s1))
    assert ended.status_code == 410 and "This session has ended." in ended.content.decode()


def test_another_members_link_a_forged_one_and_a_cancelled_or_moved_seat_are_refused(group):
    r, other = seat(group), seat(group)
    s1 = session(group)
    with time_machine.travel(at(s1, 0), tick=False):
        theirs = signed_in(other.member).get(link(r, s1))
        assert theirs.status_code == 403 and "belongs to another account" in theirs.content.decode()
        assert group.title not in theirs.content.decode()
        forged = signed_in(r.member).get(f"/join/{r.pk}-{s1.pk}:not-a-signature/")
        assert forged.status_code == 404
        altered = join_token(reservation_id=r.pk, session_id=s1.pk).replace(f"{r.pk}-", f"{other.pk}-", 1)
        assert signed_in(r.member).get(f"/join/{altered}/").status_code == 404
        assert (
            signed_in(r.member)
            .get(f"/join/{signing.Signer(salt='other').sign(f'{r.pk}-{s1.pk}')}/")
            .status_code
            == 404
        )
    reservation_cancel(reservation=other, actor=other.member, refund="none")
    with time_machine.travel(at(s1, 0), tick=False):
        cancelled = signed_in(other.member).get(link(other, s1))
    assert cancelled.status_code == 410 and "was cancelled" in cancelled.content.decode()
    Reservation.objects.filter(pk=other.pk).update(end_reason=Reservation.EndReason.MOVED)
    with time_machine.travel(at(s1, 0), tick=False):
        moved = signed_in(other.member).get(link(other, s1))
    assert "was moved to another group" in moved.content.decode()


def test_a_cancelled_session_says_so(group):
    r = seat(group)
    s2 = session(group, 2)
    session_cancel(session=s2, actor=None)
    with time_machine.travel(at(s2, 0), tick=False):
        page = signed_in(r.member).get(link(r, s2))
    assert page.status_code == 410 and "This session was cancelled" in page.content.decode()


def test_a_visitor_is_asked_to_sign_in_first(group, client):
    r = seat(group)
    response = client.get(link(r, session(group)))
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")


# --- The check-in


def test_a_licensed_state_checks_in_marks_present_and_opens_the_video(group):
    r = seat(group)
    s1 = session(group)
    client = signed_in(r.member)
    with time_machine.travel(at(s1, 7), tick=False):
        answer = client.post(link(r, s1), {"state": "NJ", **AT_HOME}, REMOTE_ADDR="203.0.113.5")
        assert answer.status_code == 302 and answer.url == link(r, s1)
        page = client.get(answer.url).content.decode()
    assert f'<meta http-equiv="refresh" content="2;url={VIDEO}">' in page and f'href="{VIDEO}"' in page
    check_in = CheckIn.objects.get()
    assert (check_in.admitted, check_in.state, check_in.ip_address) == (True, "NJ", "203.0.113.5")
    mark = Attendance.objects.get(session=s1, reservation=r)
    assert mark.status == "present" and mark.source == "check_in" and mark.joined_at == at(s1, 7)
    [entry] = AuditEntry.objects.filter(action="session.checked_in")
    assert entry.actor == r.member and entry.data["state"] == "NJ" and entry.ip_address == "203.0.113.5"


def test_an_unlicensed_state_is_refused_with_help_and_shown_to_the_therapist(group):
    r = seat(group)
    s1 = session(group)
    client = signed_in(r.member)
    with time_machine.travel(at(s1, 0), tick=False):
        answer = client.post(link(r, s1), {"state": "CA", **AT_HOME})
    page = answer.content.decode()
    assert answer.status_code == 403
    assert "You can't join this session from California" in page and 'href="tel:988"' in page
    assert VIDEO not in page and not Attendance.objects.filter(status="present").exists()
    assert CheckIn.objects.get().admitted is False
    assert AuditEntry.objects.filter(action="session.check_in_refused").count() == 1
    # The therapist sees it: on the live view and on the roster.
    therapist_user = User.objects.create_user("t@example.test", "pw-t-12345678")
    group.therapist.user = therapist_user
    group.therapist.save()
    role_grant(therapist_user, THERAPIST)
    staff = Client()
    sign_in(staff, therapist_user)
    live = staff.get(f"/admin/groups/groupsession/{s1.pk}/live/").content.decode()
    assert "Tried from elsewhere" in live and "California" in live
    roster = staff.get(f"/admin/groups/group/{group.pk}/roster/").content.decode()
    assert "Check-ins refused" in roster and "from California" in roster
    # Then from New York (they had picked the wrong state): let in.
    with time_machine.travel(at(s1, 2), tick=False):
        assert client.post(link(r, s1), {"state": "NY", **AT_HOME}).status_code == 302


def test_the_refused_page_offers_skills_groups_the_member_is_not_already_in(group):
    with time_machine.travel(dt.datetime(2026, 1, 1, tzinfo=dt.UTC), tick=False):
        mine = GroupFactory(kind=Group.Kind.SKILLS, title="Wednesday Skills", price=Decimal("0"),
                            starts_on=dt.date(2026, 3, 4), weekday=2)  # fmt: skip
        other = GroupFactory(kind=Group.Kind.SKILLS, title="Thursday Skills", price=Decimal("0"),
                             starts_on=dt.date(2026, 3, 5), weekday=3)  # fmt: skip
    r = seat(group)
    seat(mine, r.member)
    s1 = session(group)
    with time_machine.travel(at(s1, 0), tick=False):
        page = signed_in(r.member).post(link(r, s1), {"state": "CA", **AT_HOME}).content.decode()
    assert other.title in page and mine.title not in page


def test_a_license_that_lapsed_before_the_session_does_not_count(group):
    r = seat(group)
    s8 = session(group, 8)
    group.therapist.licenses.filter(state="NJ").update(expires_on=s8.starts_at.date() - dt.timedelta(days=1))
    with time_machine.travel(at(s8, 0), tick=False):
        assert signed_in(r.member).post(link(r, s8), {"state": "NJ", **AT_HOME}).status_code == 403


def test_a_skills_group_checks_in_with_one_tap_from_anywhere():
    with time_machine.travel(dt.datetime(2026, 1, 1, tzinfo=dt.UTC), tick=False):
        skills = GroupFactory(
            kind=Group.Kind.SKILLS, price=Decimal("0"), starts_on=dt.date(2026, 3, 4), weekday=2
        )
    r = seat(skills, member(state=OUTSIDE_US))
    s1 = session(skills)
    client = signed_in(r.member)
    with time_machine.travel(at(s1, 0), tick=False):
        form = client.get(link(r, s1)).content.decode()
        assert "Where are you right now?" not in form and "Check in and join" in form
        assert client.post(link(r, s1), {}).status_code == 302
    assert CheckIn.objects.get().admitted is True


def test_checking_in_again_is_the_same_check_in(group):
    r = seat(group)
    s1 = session(group)
    client = signed_in(r.member)
    with time_machine.travel(at(s1, 0), tick=False):
        client.post(link(r, s1), {"state": "NY", **AT_HOME})
        client.post(link(r, s1), {"state": "NY", **AT_HOME})
    assert (
        CheckIn.objects.count() == 1 and AuditEntry.objects.filter(action="session.checked_in").count() == 1
    )


def test_the_therapist_can_still_correct_a_check_in(group):
    r = seat(group)
    s1 = session(group)
    with time_machine.travel(at(s1, 0), tick=False):
        signed_in(r.member).post(link(r, s1), {"state": "NY", **AT_HOME})
    therapist_user = User.objects.create_user("t2@example.test", "pw-t-12345678")
    attendance_mark(session=s1, marks={r.pk: "absent"}, actor=therapist_user)
    mark = Attendance.objects.get(session=s1, reservation=r)
    assert (mark.status, mark.source) == ("absent", "therapist")
    # The live view shows the therapist's word, not the check-in it corrected.
    from attendance.live import session_live

    [row] = session_live(session=s1)
    assert row.status == "absent"
    attendance_mark(session=s1, marks={r.pk: "present"}, actor=therapist_user)
    [row] = session_live(session=s1)
    assert row.status == "checked_in" and row.state == "New York"


def test_an_excused_member_gets_no_reminder_and_reminders_point_to_i_cant_make_it(group):
    from attendance.models import Reminder
    from attendance.services.reminders import reminder_deliver, reminders_claim_due

    r = seat(group)
    s1, s2 = session(group), session(group, 2)
    client = signed_in(r.member)
    with time_machine.travel(at(s2, -60 * 30), tick=False):
        client.post(f"{link(r, s2)}cant-make-it/")
    for s in (s1, s2):
        with time_machine.travel(at(s, -120), tick=False):
            for reminder_id in reminders_claim_due():
                reminder_deliver(reminder_id=reminder_id)
    statuses = dict(Reminder.objects.values_list("session_id", "status"))
    assert statuses == {s1.pk: "sent", s2.pk: "skipped"}
    [reminder] = [m for m in mail.outbox if m.to == [r.member.email] and "reminder" in m.subject.lower()]
    assert "I can’t make it this week" in reminder.body or "I can't make it this week" in reminder.body
    assert f"/reservations/{r.pk}/cancel/" in reminder.body.split("To leave the group:")[1]
    html = reminder.alternatives[0][0]
    assert '<a href="http' in html and "/join/" in html  # the join link is a link


def test_a_spanish_members_notice_reaches_the_therapist_in_english_with_988_first(group):
    """Staff emails are in the clinic's language whoever's request delivers them; a member's
    calendar file is in the member's."""
    r = seat(group, member(state="NY", language="es"))
    s1 = session(group)
    client = signed_in(r.member)
    with time_machine.travel(at(s1, -600), tick=False):
        client.post(f"{link(r, s1)}cant-make-it/", HTTP_ACCEPT_LANGUAGE="es")
        from django.utils import translation

        with translation.override("es"):  # as when her own request delivers it, after the commit
            deliver()
    [note] = [m for m in mail.outbox if m.to == [group.therapist.user.email]]
    assert note.subject == "A member can't make it to a session"
    assert note.body.startswith("Need help now?") and "Necesita" not in note.body
    from icalendar import Calendar

    events = Calendar.from_ical(client.get(f"/reservations/{r.pk}/calendar.ics").content).walk("VEVENT")
    assert str(events[0]["summary"]) == "Sesión de grupo (semana 1)"
    assert "AYUDA" in str(events[0]["description"]) and "Entrar: http" in str(events[0]["description"])


def test_a_refused_check_in_is_not_a_miss_without_notice(group):
    r = seat(group)
    for number in (1, 2, 3):
        s = session(group, number)
        with time_machine.travel(at(s, 0), tick=False):
            signed_in(r.member).post(
                link(r, s), {"state": "CA", **AT_HOME}
            )  # they came, from the wrong place
        close(s)
    marks = set(Attendance.objects.filter(reservation=r).values_list("status", "source"))
    assert marks == {("excused", "check_in_refused")}
    from attendance.live import session_live

    [row] = session_live(session=session(group, 1))
    assert (row.status, row.state) == ("refused", "California")  # not "can't make it"
    assert not AttendanceFlag.objects.exists()
    assert not [m for m in mail.outbox if m.to == [r.member.email] and "missed" in m.subject]


def test_coming_back_settles_the_we_missed_you_notes(group):
    r = seat(group)
    close(session(group, 1))
    close(session(group, 2))
    close(session(group, 3))
    # One line on the roster: the third miss supersedes the note about the second.
    assert set(AttendanceFlag.objects.values_list("misses", "status")) == {(2, "reviewed"), (3, "open")}
    assert AttendanceFlag.objects.get(misses=2).review_note == "Followed by 3 missed in a row."
    s4 = session(group, 4)
    with time_machine.travel(at(s4, 1), tick=False):
        signed_in(r.member).post(link(r, s4), {"state": "NY", **AT_HOME})
    assert set(AttendanceFlag.objects.values_list("status", flat=True)) == {"reviewed"}
    assert AttendanceFlag.objects.get(misses=3).review_note == "Checked in to week 4."


def test_correcting_an_earlier_week_to_present_leaves_a_later_run_on_the_roster(group):
    r = seat(group)
    for number in (1, 2, 3, 4, 5):
        if number != 2:
            close(session(group, number))
        else:
            with time_machine.travel(at(session(group, 2), 0), tick=False):
                signed_in(r.member).post(link(r, session(group, 2)), {"state": "NY", **AT_HOME})
            close(session(group, 2))
    assert AttendanceFlag.objects.get(status="open").misses == 3  # weeks 3 to 5
    therapist_user = User.objects.create_user("t9@example.test", "pw-t-12345678")
    attendance_mark(session=session(group, 1), marks={r.pk: "present"}, actor=therapist_user)
    assert AttendanceFlag.objects.get(status="open").misses == 3  # week 1 ended no part of it


# --- "I can't make it this week"


def test_i_cant_make_it_excuses_until_the_start_and_tells_the_therapist(group):
    r = seat(group)
    s1 = session(group)
    client = signed_in(r.member)
    path = f"{link(r, s1)}cant-make-it/"
    with time_machine.travel(at(s1, -600), tick=False):
        assert client.post(path).url == "/my/"
        client.post(path)  # twice: once
        deliver()
    mark = Attendance.objects.get(session=s1, reservation=r)
    assert mark.status == "excused" and mark.source == "member_notice"
    [note] = OutboxMessage.objects.filter(kind="attendance.therapist_note")
    assert note.payload == {"session": s1.pk, "kind": "excused"}
    [email] = [m for m in mail.outbox if m.to == [group.therapist.user.email]]
    assert email.subject == "A member can't make it to a session" and r.member.last_name not in email.body
    s2 = session(group, 2)
    with time_machine.travel(at(s2, 1), tick=False):
        answer = client.post(f"{link(r, s2)}cant-make-it/", follow=True).content.decode()
    assert not Attendance.objects.filter(session=s2).exists()  # too late once it started
    assert "already started" in answer and "has ended" not in answer
    # Already checked in to a session: "I can't make it" is refused, and the page offers it
    # only while it makes sense (before the start, not after saying it).
    s3 = session(group, 3)
    with time_machine.travel(at(s3, -10), tick=False):
        assert "t make it this week" in client.get(link(r, s3)).content.decode()
        assert (
            "selected"
            not in client.get(link(r, s3)).content.decode().split('id="id_state"')[1].split("</select>")[0]
        )
        client.post(link(r, s3), {"state": "NY", **AT_HOME})
        answer = client.post(f"{link(r, s3)}cant-make-it/", follow=True).content.decode()
    assert "already checked in" in answer
    with time_machine.travel(at(s3, -5), tick=False):  # nor does My groups offer it any more
        assert "t make it this week" not in client.get("/my/").content.decode()
    s4 = session(group, 4)
    with time_machine.travel(at(s4, 2), tick=False):  # started: only joining is offered
        assert "t make it this week" not in client.get(link(r, s4)).content.decode()
    assert Attendance.objects.get(session=s3, reservation=r).status == "present"
    # Came after all: the check-in makes them present.
    with time_machine.travel(at(s1, 3), tick=False):
        client.post(link(r, s1), {"state": "NY", **AT_HOME})
    assert Attendance.objects.get(session=s1, reservation=r).status == "present"


# --- Attendance that keeps itself, and the attendance rule


def close(s):
    with time_machine.travel(s.ends_at + dt.timedelta(minutes=1), tick=False):
        closed = sessions_close()
        deliver()
    return closed


def deliver() -> None:
    """What the worker does after each commit: deliver the outbox's pending messages."""
    for message_id in OutboxMessage.objects.filter(status="pending").values_list("pk", flat=True):
        outbox_deliver(message_id=message_id)


def test_no_check_in_by_the_end_is_absent_and_closing_runs_once(group):
    r, present = seat(group), seat(group)
    s1 = session(group)
    with time_machine.travel(at(s1, 0), tick=False):
        signed_in(present.member).post(link(present, s1), {"state": "NY", **AT_HOME})
    from attendance.live import session_live

    with time_machine.travel(s1.ends_at + dt.timedelta(seconds=30), tick=False):  # before the job
        assert {row.status for row in session_live(session=s1)} == {"absent", "checked_in"}
    assert close(s1) == 1
    assert close(s1) == 0
    assert Attendance.objects.get(session=s1, reservation=r).status == "absent"
    assert Attendance.objects.get(session=s1, reservation=present).status == "present"
    from attendance.live import session_live

    # After the close, the live view says what the sheet says, not "not joined yet".
    assert {row.status for row in session_live(session=s1)} == {"absent", "checked_in"}


def test_two_three_then_four_misses_write_flag_and_wait_for_a_person(group):
    r = seat(group)
    steps = {}
    for number in (1, 2, 3, 4, 5):
        close(session(group, number))
        steps[number] = (
            [m.subject for m in mail.outbox if m.to == [r.member.email] and "missed" in m.subject],
            list(
                AttendanceFlag.objects.filter(reservation=r)
                .values_list("misses", flat=True)
                .order_by("misses")
            ),
        )
    assert steps[1] == ([], [])
    assert steps[2] == (["We missed you this week"], [2])
    assert steps[3] == (["We missed you this week"] * 2, [2, 3])
    assert steps[4][1] == [2, 3, 4]  # the rule is reached: a decision on the roster
    assert steps[4][0] == steps[3][0]  # no third email to the member at the limit
    assert steps[5][1] == [2, 3, 4]  # and not again while that decision waits
    care = [m for m in mail.outbox if m.subject == "A roster needs your review"]
    assert care and all(r.member.email not in m.body for m in care)
    missed = next(m for m in mail.outbox if m.to == [r.member.email] and "missed" in m.subject)
    assert "988" in missed.body.splitlines()[0] and "4 sessions in a row" in missed.body
    assert Reservation.objects.get(pk=r.pk).status == "confirmed"  # never removed by itself
    flag = AttendanceFlag.objects.get(reservation=r, misses=4)
    staff = User.objects.create_user("ops@example.test", "pw-ops-123456")
    attendance_flag_review(flag=flag, actor=staff, note="Talked on the phone; moving on.", end_seat=True)
    r.refresh_from_db()
    assert r.status == "cancelled" and r.end_reason == "attendance_rule"
    # Every step is audited: the caring-email steps settled by the system as the next miss
    # arrived, then the decision and the seat it ended, under the person who decided.
    steps = {f.misses: str(f.pk) for f in AttendanceFlag.objects.filter(reservation=r)}
    trail = AuditEntry.objects.filter(
        action__in=["attendanceflag.reviewed", "attendanceflag.seat_ended", "reservation.cancelled"]
    ).order_by("pk")
    assert [(e.action, e.object_id, e.actor_id, e.data) for e in trail] == [
        (
            "attendanceflag.reviewed",
            steps[2],
            None,
            {"from": "open", "to": "reviewed", "reservation": r.pk, "misses": 2, "settled": True},
        ),
        (
            "attendanceflag.reviewed",
            steps[3],
            None,
            {"from": "open", "to": "reviewed", "reservation": r.pk, "misses": 3, "settled": True},
        ),
        (
            "attendanceflag.seat_ended",
            steps[4],
            staff.pk,
            {"from": "open", "to": "seat_ended", "reservation": r.pk, "misses": 4},
        ),
        (
            "reservation.cancelled",
            str(r.pk),
            staff.pk,
            {"from": "confirmed", "to": "cancelled", "group": group.pk},
        ),
    ]


def test_an_excused_or_attended_session_breaks_the_count(group):
    r = seat(group)
    close(session(group, 1))
    s2 = session(group, 2)
    with time_machine.travel(at(s2, -60), tick=False):
        signed_in(r.member).post(f"{link(r, s2)}cant-make-it/")
    close(s2)
    close(session(group, 3))
    assert not AttendanceFlag.objects.exists()


def test_a_flag_below_the_limit_cannot_end_a_seat(group):
    r = seat(group)
    close(session(group, 1))
    close(session(group, 2))
    flag = AttendanceFlag.objects.get()
    from grouport.exceptions import InvalidInput

    with pytest.raises(InvalidInput):
        attendance_flag_review(flag=flag, actor=r.member, note="", end_seat=True)
    assert Reservation.objects.get(pk=r.pk).status == "confirmed"


def test_the_roster_shows_the_flag_and_ends_a_seat_with_one_click(group):
    r = seat(group)
    for number in (1, 2, 3, 4):
        close(session(group, number))
    therapist_user = User.objects.create_user("t3@example.test", "pw-t-12345678")
    group.therapist.user = therapist_user
    group.therapist.save()
    role_grant(therapist_user, THERAPIST)
    staff = Client()
    sign_in(staff, therapist_user)
    roster = staff.get(f"/admin/groups/group/{group.pk}/roster/").content.decode()
    assert "4 missed in a row" in roster and "End the seat under the rule" in roster
    flag = AttendanceFlag.objects.get(misses=4)
    url = f"/admin/groups/group/{group.pk}/roster/attendance-flags/{flag.pk}/"
    # The first click says what ending a seat does and asks once more; nothing ends yet.
    ask = staff.post(url, {"decision": "end_seat", "note": "Called twice"}).content.decode()
    assert "Yes, end the seat" in ask and 'value="Called twice"' in ask
    assert Reservation.objects.get(pk=r.pk).status == "confirmed"
    mail.outbox.clear()
    staff.post(url, {"decision": "end_seat", "confirmed": "yes", "note": "Called twice"})
    deliver()
    assert Reservation.objects.get(pk=r.pk).end_reason == "attendance_rule"
    # Every step of that run leaves the roster with the decision, and the member is told why.
    assert not AttendanceFlag.objects.filter(reservation=r, status="open").exists()
    assert "missed in a row" not in staff.get(f"/admin/groups/group/{group.pk}/roster/").content.decode()
    [ended] = [m for m in mail.outbox if m.to == [r.member.email]]
    assert "attendance rule" in ended.body and "4 sessions in a row" in ended.body
    assert "988" in ended.body.splitlines()[0]
    # Another therapist's group: not found.
    other = GroupFactory(therapist=licensed_therapist("NY"))
    assert staff.post(f"/admin/groups/group/{other.pk}/roster/attendance-flags/{flag.pk}/").status_code == 404


def test_the_group_rule_is_a_setting_shown_on_the_reserve_page(group):
    Group.objects.filter(pk=group.pk).update(missed_in_a_row_limit=3)
    client = signed_in(member(state="NY"))
    with time_machine.travel(dt.datetime(2026, 2, 1, tzinfo=dt.UTC), tick=False):
        page = client.get(f"/groups/{group.slug}/reserve/").content.decode()
    assert "missing 3 sessions in a row without notice can end your seat" in page


# --- The video link is nowhere but behind a check-in


def test_the_video_link_is_in_no_email_calendar_file_or_api_answer(group):
    r = seat(group)
    s1 = session(group)
    close(session(group, 1))
    close(session(group, 2))
    from attendance.services.reminders import reminder_deliver, reminders_claim_due

    with time_machine.travel(at(session(group, 3), -120), tick=False):
        for reminder_id in reminders_claim_due():
            reminder_deliver(reminder_id=reminder_id)
    client = signed_in(r.member)
    api = APIClient()
    api.force_authenticate(r.member)
    seen = [m.body for m in mail.outbox] + [
        alt[0] for m in mail.outbox for alt in getattr(m, "alternatives", [])
    ]
    seen += [a[1] if isinstance(a[1], str) else a[1].decode() for m in mail.outbox for a in m.attachments]
    seen += [json.dumps(o.payload) for o in OutboxMessage.objects.all()]
    seen.append(client.get(f"/reservations/{r.pk}/calendar.ics").content.decode())
    seen.append(client.get("/my/").content.decode())
    for path in ("/api/reservations/", f"/api/reservations/{r.pk}/", f"/api/reservations/{r.pk}/sessions/",
                 f"/api/groups/{group.pk}/", "/api/schema/"):  # fmt: skip
        seen.append(api.get(path).content.decode())
    assert mail.outbox and any("/join/" in text for text in seen)
    assert not [text[:200] for text in seen if VIDEO in text]
    with time_machine.travel(at(s1, -20), tick=False):
        assert VIDEO not in client.get(link(r, s1)).content.decode()


# --- The API


def test_the_api_gives_join_links_checks_in_and_shows_the_therapist_live_attendance(group):
    r = seat(group)
    s1 = session(group)
    api = APIClient()
    api.force_authenticate(r.member)
    sessions = api.get(f"/api/reservations/{r.pk}/sessions/").json()
    assert len(sessions) == 8 and sessions[0]["join_url"].startswith(f"{settings.SITE_URL}/join/")
    token = sessions[0]["join_url"].rstrip("/").rsplit("/", 1)[1]
    with time_machine.travel(at(s1, -30), tick=False):
        early = api.post(f"/api/join/{token}/check-in/", {"state": "NY", **AT_HOME_JSON}, format="json")
    assert early.status_code == 403 and early.json()["code"] == "not_yet" and early.json()["opens_at"]
    with time_machine.travel(at(s1, 0), tick=False):
        refused = api.post(f"/api/join/{token}/check-in/", {"state": "FL", **AT_HOME_JSON}, format="json")
        assert refused.status_code == 403 and refused.json()["code"] == "not_licensed_where_you_are"
        assert refused.json()["alternatives"] is not None and "988" in refused.json()["crisis"]
        ok = api.post(f"/api/join/{token}/check-in/", {"state": "NY", **AT_HOME_JSON}, format="json")
    assert ok.status_code == 200 and ok.json()["video_url"] == VIDEO
    other = APIClient()
    other.force_authenticate(member())
    assert (
        other.post(f"/api/join/{token}/check-in/", {"state": "NY", **AT_HOME_JSON}, format="json").json()[
            "code"
        ]
        == "not_yours"
    )
    assert other.get(f"/api/sessions/{s1.pk}/attendance/").status_code == 404  # a member: not theirs to see
    therapist_user = User.objects.create_user("t4@example.test", "pw-t-12345678")
    group.therapist.user = therapist_user
    group.therapist.save()
    role_grant(therapist_user, THERAPIST)
    therapist = APIClient()
    therapist.force_authenticate(therapist_user)
    [row] = therapist.get(f"/api/sessions/{s1.pk}/attendance/").json()
    assert row["status"] == "checked_in" and row["state"] == "New York"
    assert "/api/join/{token}/check-in/" in APIClient().get("/api/schema/").content.decode()


def test_the_demo_command_brings_a_session_near_to_try_joining(group, settings):
    from django.core.management import CommandError, call_command

    r = seat(group, member(state="NY", email="someone@example.test"))
    with time_machine.travel(dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC), tick=False):
        call_command("demo_session_soon", email="someone@example.test", minutes=5)
        nxt = GroupSession.objects.filter(group=group).order_by("starts_at").first()
        assert nxt.starts_at == dt.datetime(2026, 3, 1, 12, 5, tzinfo=dt.UTC)
        assert "Where are you right now?" in signed_in(r.member).get(link(r, nxt)).content.decode()
    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="production"):
        call_command("demo_session_soon", email="someone@example.test")


def test_the_demo_command_says_what_to_do_when_there_is_no_session_to_bring_near(group):
    import re

    from django.core.management import CommandError, call_command

    who = member(state="NY", email="someone@example.test")
    advice = re.escape("someone@example.test has no confirmed seat yet: sign in and reserve one")
    with pytest.raises(CommandError, match=advice):
        call_command("demo_session_soon", email="someone@example.test")
    seat(group, who)
    times = group.sessions.order_by("pk").values_list("starts_at", "ends_at")
    before = list(times)
    over = pytest.raises(CommandError, match="That group has no sessions left")
    with time_machine.travel(group.last_session_at + dt.timedelta(days=1), tick=False), over:
        call_command("demo_session_soon", email="someone@example.test")
    assert list(times) == before  # nothing was moved
