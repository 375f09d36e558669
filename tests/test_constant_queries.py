"""Every list a member or staff member opens (pages and API) runs the same number of queries
with 1 row and with 20: a list that queries per row gets slower with every member, seat and
questionnaire, until a busy clinic's pages time out.

One world is built with one of everything a list shows, each list is asked and its queries
counted; then the world grows to 20 of everything and each list is asked again. The catalog
and the reports have their own tests (tests/groups/test_catalog_api.py, tests/admin/test_reports.py).
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib import admin
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from knox.models import AuthToken

from attendance.models import Attendance, AttendanceFlag, CheckIn, Reminder
from billing.models import Refund
from billing.services import offline_payment_complete, refund_issue
from care.models import (
    AlertPage,
    AlertStep,
    Measure,
    MeasureResponse,
    OnCallClinician,
    OnCallShift,
    OutcomeSurvey,
    SafetyAlert,
)
from enrollment.models import Reservation, ResidenceAlert
from enrollment.services.reservations import reservation_confirm, reservation_hold
from enrollment.services.waitlist import waitlist_join
from grouport.models import AuditEntry
from grouport.roles import STAFF, THERAPIST, role_grant
from intake.models import ScreeningFlag, ScreeningQuestion
from intake.services import screening_flag_raise
from tests.factories import ALL_TRUE, GroupFactory, UserFactory, licensed_therapist, member, sign_in
from tests.project import APPS
from texting.models import InboundText, TextMessage, TextSubscription

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


class World:
    """Ana (a member), her therapist's group with its roster, and staff; grown row by row."""

    def __init__(self, settings) -> None:
        settings.STRIPE_SECRET_KEY = ""
        self.therapist = licensed_therapist("NY")
        role_grant(self.therapist.user, THERAPIST)
        self.ana = member(first_name="Ana")
        self.staff = UserFactory()
        role_grant(self.staff, STAFF)
        self.roster_group = GroupFactory(therapist=self.therapist, capacity=100, price=Decimal("0"))
        self.session = self.roster_group.sessions.order_by("number").first()
        self.reviewed_group = GroupFactory(
            therapist=self.therapist, capacity=100, price=Decimal("0"), requires_review=True
        )
        self.size = 0
        self.phq9 = Measure.objects.get(code="PHQ-9")

    def grow(self, to: int) -> None:
        while self.size < to:
            self.size += 1
            self._one_more()

    def _one_more(self) -> None:
        n = self.size
        # Ana's own: a paid seat in a group of its own (with a refund), a waitlist entry, a
        # questionnaire with answers, an API token.
        group = GroupFactory(therapist=self.therapist, price=Decimal("100.00"), capacity=2)
        seat = reservation_hold(member=self.ana, group=group, attestations=ALL_TRUE)
        payment = offline_payment_complete(reservation=seat, member=self.ana)
        seat.refresh_from_db()
        refund_issue(payment=payment, amount=Decimal("1.00"), key=f"q-{n}", reason="staff")
        Refund.objects.filter(key=f"q-{n}").update(status=Refund.Status.SUCCEEDED)  # back: a receipt
        full = GroupFactory(therapist=self.therapist, price=Decimal("0"), capacity=1)
        other = member()
        reservation_confirm(
            reservation=reservation_hold(member=other, group=full, attestations=ALL_TRUE), actor=other
        )
        waitlist_join(member=self.ana, group=full)
        survey = OutcomeSurvey.objects.create(
            reservation=seat, time_point="baseline", status="answered",
            opens_at=self.session.starts_at, closes_at=self.session.ends_at,
        )  # fmt: skip
        survey.measures.add(self.phq9)
        MeasureResponse.objects.create(survey=survey, measure=self.phq9, answers={"1": 1}, total=1, band=0)
        AuthToken.objects.create(user=self.ana)
        # A seat held while she pays, and one whose hold ran out yesterday (both say what next).
        reservation_hold(
            member=self.ana,
            group=GroupFactory(therapist=self.therapist, price=Decimal("50")),
            attestations=ALL_TRUE,
        )
        lapsed = reservation_hold(
            member=self.ana,
            group=GroupFactory(therapist=self.therapist, price=Decimal("50")),
            attestations=ALL_TRUE,
        )
        Reservation.objects.filter(pk=lapsed.pk).update(expires_at=timezone.now() - dt.timedelta(days=1))
        # A member of the roster group, with what a roster shows of them.
        person = member()
        mine = reservation_confirm(
            reservation=reservation_hold(member=person, group=self.roster_group, attestations=ALL_TRUE),
            actor=person,
        )
        Attendance.objects.create(session=self.session, reservation=mine, status="present", source="check_in")
        CheckIn.objects.create(session=self.session, reservation=mine, state="TX", admitted=False)
        AttendanceFlag.objects.create(reservation=mine, session=self.session, misses=2, limit=4)
        ResidenceAlert.objects.create(
            reservation=mine, group=self.roster_group, old_state="NY", new_state="TX"
        )
        theirs = OutcomeSurvey.objects.create(
            reservation=mine,
            time_point="baseline",
            opens_at=self.session.starts_at,
            closes_at=self.session.ends_at,
        )
        alert = SafetyAlert.objects.create(
            survey=theirs, reservation=mine, safety_answers={"PHQ-9": {"9": 1}}
        )
        # Texts: the member asked for them; a text went; one came back; someone is on call and
        # was paged for the alert.
        TextSubscription.objects.create(member=person, phone=f"+1212555{n:04d}", status="on")
        text = TextMessage.objects.create(key=f"q-text-{n}", purpose="page", to=f"+1212555{n:04d}")
        InboundText.objects.create(
            message_sid=f"SM{n:032d}", from_phone=f"+1212555{n:04d}", outcome="unread", body="hi"
        )
        clinician = UserFactory(is_staff=True)
        on_call = OnCallClinician.objects.create(user=clinician, phone=f"+1646555{n:04d}")
        OnCallShift.objects.create(
            clinician=on_call, starts_at=timezone.now(), ends_at=timezone.now() + dt.timedelta(hours=n)
        )
        AlertStep.objects.create(alert=alert, step=0)
        AlertPage.objects.create(alert=alert, step=0, recipient=clinician, phone=on_call.phone, text=text)
        Reminder.objects.create(session=self.session, reservation=mine, kind="24h")
        # Screening answers that need a clinician, and a seat held for the intake review.
        screening_flag_raise(
            member=person, questions=[ScreeningQuestion.objects.get(position=20).pk], now=timezone.now()
        )
        reservation_hold(member=member(), group=self.reviewed_group, attestations=ALL_TRUE)

    def lists(self) -> dict[str, tuple[str, Client]]:
        ana, therapist, staff = Client(), Client(), Client()
        ana.force_login(self.ana)
        sign_in(therapist, self.therapist.user)
        sign_in(staff, self.staff)
        seat = self.ana.reservations.order_by("pk").first()
        group, session = self.roster_group.pk, self.session.pk
        member_lists = {
            "/my/": ana,
            "/api/reservations/": ana,
            "/api/waitlist/": ana,
            "/api/questionnaires/": ana,
            "/api/auth/tokens/": ana,
            "/account/profile/": ana,
            f"/api/reservations/{seat.pk}/sessions/": ana,
            "/account/intake/": ana,
            "/api/me/intake/": ana,
            "/api/screening-questions/": ana,
            "/account/texts/": ana,
            "/api/me/texts/": ana,
            "/my/receipts/": ana,
        }
        clinical = {
            f"/admin/groups/group/{group}/roster/": therapist,
            f"/admin/groups/group/{group}/roster.csv": therapist,
            f"/admin/groups/groupsession/{session}/live/": therapist,
            f"/admin/groups/groupsession/{session}/attendance/": therapist,
            f"/api/sessions/{session}/attendance/": therapist,
            "/admin/groups/group/": therapist,
            "/admin/groups/groupsession/": therapist,
            "/admin/enrollment/residencealert/": therapist,
            "/admin/care/safetyalert/": therapist,
            "/api/reviews/": therapist,
            "/admin/enrollment/seatreview/": therapist,
            "/admin/intake/screeningflag/": therapist,
        }
        # The on-call page of an alert paged at each step: every page and its texts.
        alert = SafetyAlert.objects.filter(pages__isnull=False).order_by("pk").first()
        clinical[f"/care/alerts/{alert.pk}/"] = staff
        # Every admin list of our apps' models, as staff: a list registered tomorrow is in.
        operations = {
            f"/admin/{model._meta.app_label}/{model._meta.model_name}/": staff
            for model in admin.site._registry
            if model._meta.app_label in APPS
        }
        assert "/admin/attendance/reminder/" in operations and "/admin/care/safetyalert/" in operations
        assert "/admin/texting/textmessage/" in operations and "/admin/care/oncallclinician/" in operations
        return {**member_lists, **clinical, **{f"{k} (staff)": v for k, v in operations.items()}}


def _count(client: Client, url: str) -> int:
    # Django keeps the last 9,000 queries only: once the log is full, CaptureQueriesContext's
    # slice of it counts nothing. An empty log before each page counts every query.
    connection.queries_log.clear()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return len(queries)


def test_every_list_runs_the_same_queries_for_1_and_20_rows(settings):
    world = World(settings)
    world.grow(1)
    lists = world.lists()
    for url, client in lists.items():
        _count(client, url.removesuffix(" (staff)"))  # warm: sessions, caches, languages
    small = {url: _count(client, url.removesuffix(" (staff)")) for url, client in lists.items()}
    world.grow(20)
    assert AuditEntry.objects.exists()
    lists = world.lists()
    large = {url: _count(client, url.removesuffix(" (staff)")) for url, client in lists.items()}
    grew = {url: f"{small[url]} -> {large[url]}" for url in small if large[url] != small[url]}
    assert grew == {}, "queries grow with rows:\n" + "\n".join(f"{u}: {c}" for u, c in grew.items())


def test_the_world_really_has_twenty_of_everything(settings):
    """The check above means something only if the lists hold the rows."""
    world = World(settings)
    world.grow(20)
    client = Client()
    client.force_login(world.ana)
    assert len(client.get("/api/reservations/").json()["results"]) == 20  # a page: 20 of the 60
    assert world.ana.waitlist_entries.count() == 20
    receipts = client.get("/my/receipts/").content.decode()
    assert receipts.count("/my/receipts/payment/") == 40 and receipts.count("/my/receipts/refund/") == 40
    assert world.roster_group.reservations.filter(status="confirmed").count() == 20
    assert world.reviewed_group.reservations.filter(status="review").count() == 20
    assert ScreeningFlag.objects.filter(status="open").count() == 20
    assert OutcomeSurvey.objects.filter(reservation__member=world.ana).count() == 20
    assert dt.timedelta(0) < world.session.ends_at - world.session.starts_at
