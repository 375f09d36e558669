"""Fill a freshly migrated and seeded database with at least one row in every table.

A throw-away script, kept to show how the fixture ``rows_<sha>.json`` was made. It runs
against the code **of the commit named in that fixture** (its ``"commit"``), not today's
main: it uses that commit's services, factories and fake Stripe. To make a fixture anew on
another commit, read it again against that commit's code first.

How the fixture was made (see ``snapshot.py``)::

    git -C /work/main worktree add /tmp/upgrade-src <sha>
    cd /tmp/upgrade-src
    createdb -h 127.0.0.1 -U postgres upgradesrc
    export DJANGO_SETTINGS_MODULE=grouport.settings
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/upgradesrc
    python manage.py migrate && python manage.py seed_demo
    python -m tests.upgrade.make_rows
    python -m tests.upgrade.snapshot tests/upgrade/rows_<shortsha>.json

Everything goes through the app's own services (holds, confirmations, check-ins, the
closing job, questionnaires, Stripe checkouts and webhooks against the tests' fake Stripe,
refunds, the waitlist), with time travelled so that a program is half over: sessions held,
checked in, missed, closed, flagged; questionnaires answered; reminders claimed and sent.
Only what has no service is written with the ORM (an admin log entry, a direct permission,
an email confirmation).

It refuses to run on a database whose name does not start with ``upgrade``.
"""

import contextlib
import datetime as dt
import json
import os
import sys
from decimal import Decimal

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "grouport.settings")

import django

django.setup()

import time_machine  # noqa: E402
from allauth.account.models import EmailAddress, EmailConfirmation  # noqa: E402
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.admin.models import CHANGE, LogEntry  # noqa: E402
from django.contrib.auth.models import Permission  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client, RequestFactory  # noqa: E402
from django.utils import timezone  # noqa: E402
from knox.models import AuthToken  # noqa: E402

import grouport.outbox as outbox_module  # noqa: E402
from billing.models import Payment, Refund  # noqa: E402
from billing.services import offline_payment_complete, refund_issue, stripe_checkout_start  # noqa: E402
from enrollment.models import (  # noqa: E402
    AttendanceFlag,
    OutcomeSurvey,
    Reminder,
    Reservation,
    ResidenceAlert,
    SafetyAlert,
    WaitlistEntry,
)
from enrollment.services.attendance import (  # noqa: E402
    attendance_flag_review,
    attendance_mark,
    reservation_move,
    sessions_close,
)
from enrollment.services.checkin import session_check_in, session_excuse  # noqa: E402
from enrollment.services.eligibility import residence_alert_review  # noqa: E402
from enrollment.services.outcomes import (  # noqa: E402
    safety_alert_review,
    survey_answer,
    surveys_expire,
    surveys_schedule,
)
from enrollment.services.reminders import reminder_send, reminders_claim_due  # noqa: E402
from enrollment.services.reservations import (  # noqa: E402
    Attestations,
    reservation_cancel,
    reservation_hold,
    reservation_start,
)
from enrollment.services.seats import group_refresh_seats  # noqa: E402
from enrollment.services.waitlist import (  # noqa: E402
    waitlist_join,
    waitlist_leave,
    waitlist_offer_accept,
    waitlist_offer_decline,
)
from grouport.models import OutboxMessage, User  # noqa: E402
from grouport.outbox import outbox_deliver  # noqa: E402
from grouport.roles import STAFF, THERAPIST, role_grant  # noqa: E402
from grouport.services import member_profile_update  # noqa: E402
from groups.models import Group  # noqa: E402
from groups.services import session_cancel  # noqa: E402
from tests import fake_stripe  # noqa: E402
from tests.factories import GroupFactory, licensed_therapist, member, second_factor  # noqa: E402

ALL_TRUE = Attestations(residence=True, location=True, agreement=True)
WEBHOOK = "/billing/stripe/webhook/"


def travel(when: dt.datetime):
    return time_machine.travel(when, tick=False)


@contextlib.contextmanager
def not_delivered():
    """Outbox messages added inside stay pending (as when the broker is down)."""
    real = outbox_module.publish_safely
    outbox_module.publish_safely = lambda task, args: False
    try:
        yield
    finally:
        outbox_module.publish_safely = real


def answers(code: str, total: int, *, item9: int = 0) -> dict[int, int]:
    count = 9 if code == "PHQ-9" else 7
    values = dict.fromkeys(range(1, count + 1), 0)
    left = total
    if code == "PHQ-9":
        values[9] = item9
        left -= item9
    for n in range(1, count + 1):
        if code == "PHQ-9" and n == 9:
            continue
        values[n] = min(3, left)
        left -= values[n]
    return values


def therapist_user(therapist) -> User:
    user = therapist.user
    role_grant(user, THERAPIST)
    return user


# --- A therapy program half over: free, so its story is about attendance, not money.


def past_program(staff: User) -> Group:
    today = timezone.localdate()
    # Tuesdays: the sixth session was the last Tuesday before today; 7 and 8 are to come.
    last_tuesday = today - dt.timedelta(days=(today.weekday() - 1) % 7 or 7)
    first = last_tuesday - dt.timedelta(weeks=5)
    t0 = dt.datetime.combine(first - dt.timedelta(days=14), dt.time(15), tzinfo=dt.UTC)
    with travel(t0):
        therapist = licensed_therapist("NY", "NJ")
        t_user = therapist_user(therapist)
        group = GroupFactory(
            title="Past program",
            therapist=therapist,
            weekday=1,
            starts_on=first,
            price=Decimal("0.00"),
            capacity=10,
        )
        names = "ABCDEFGH"
        people = {n: member(state="NJ" if n == "E" else "NY", first_name=f"Member {n}") for n in names}
        seats = {}
        for n in names:
            reservation, _ = reservation_start(member=people[n], group=group, attestations=ALL_TRUE)
            seats[n] = Reservation.objects.get(pk=reservation.pk)
    sessions = list(group.sessions.order_by("number"))
    assert sessions[5].ends_at < timezone.now() < sessions[6].starts_at, "run on the schedule it expects"

    with travel(t0 + dt.timedelta(hours=1)):
        surveys_schedule()
    with travel(t0 + dt.timedelta(hours=2)):
        survey = OutcomeSurvey.objects.get(reservation=seats["A"], time_point="baseline")
        survey_answer(
            survey=survey,
            member=people["A"],
            answers={"PHQ-9": answers("PHQ-9", 14, item9=1), "GAD-7": answers("GAD-7", 9)},
            follow_ups={"PHQ-9": 2},
        )
        survey = OutcomeSurvey.objects.get(reservation=seats["C"], time_point="baseline")
        survey_answer(
            survey=survey,
            member=people["C"],
            answers={"PHQ-9": answers("PHQ-9", 8), "GAD-7": answers("GAD-7", 5)},
        )

    # Who comes: A always; B never (flags, reviewed at the limit); C excused, then refused
    # from California, then corrected by the therapist; D until they move; E from New
    # Jersey; F until moved to another group; G misses 4 and 5 (an open flag); H misses
    # four in a row and the seat is ended under the rule.
    comes = {
        "A": {1, 2, 3, 4, 5},
        "D": {1, 2, 3, 4},
        "E": {1, 3, 4, 5},
        "F": {1, 2, 3, 4, 5},
        "G": {1, 2, 3},
        "C": {4, 5},
    }
    for s in sessions[:5]:
        k = s.number
        if k == 1:
            session_excuse(
                reservation=seats["C"], session=s, member=people["C"], now=s.starts_at - dt.timedelta(hours=2)
            )
        if k == 4:
            with travel(s.starts_at + dt.timedelta(minutes=1)):
                surveys_expire()
                with not_delivered():  # the midpoint invitations wait for the broker
                    surveys_schedule()
        with travel(s.starts_at + dt.timedelta(minutes=3)):
            for n, weeks in comes.items():
                if k in weeks:
                    state = "NJ" if n == "E" else "NY"
                    # A's check-ins come through the join page (the address is kept).
                    request = RequestFactory().post("/join/", REMOTE_ADDR="203.0.113.7") if n == "A" else None
                    session_check_in(
                        reservation=seats[n], session=s, member=people[n], state=state, request=request
                    )
            if k == 2:
                session_check_in(reservation=seats["C"], session=s, member=people["C"], state="CA")
        with travel(s.ends_at + dt.timedelta(minutes=1)):
            sessions_close()
        with travel(s.ends_at + dt.timedelta(hours=2)):
            if k == 3:
                # C was there after all: the therapist corrects the sheet.
                attendance_mark(session=s, marks={seats["C"].pk: "present"}, actor=t_user)
            if k == 4:
                for n, total, item9 in (("A", 9, 0), ("C", 10, 2)):
                    survey = OutcomeSurvey.objects.get(reservation=seats[n], time_point="midpoint")
                    survey_answer(
                        survey=survey,
                        member=people[n],
                        answers={"PHQ-9": answers("PHQ-9", total, item9=item9), "GAD-7": answers("GAD-7", 6)},
                        follow_ups={"PHQ-9": 1} if n == "A" else None,
                    )
                # D moves to California (the notice and the alerts wait for the broker).
                with not_delivered():
                    member_profile_update(member=people["D"], data={"state": "CA"}, actor=people["D"])
                flag = AttendanceFlag.objects.get(reservation=seats["H"], misses=4)
                attendance_flag_review(
                    flag=flag, actor=t_user, note="Talked it over; seat ends.", end_seat=True
                )
            if k == 5:
                flag = AttendanceFlag.objects.get(reservation=seats["B"], misses=4)
                attendance_flag_review(
                    flag=flag, actor=t_user, note="Called; keeps the seat.", end_seat=False
                )
                # E moves; the therapist reviews it.
                member_profile_update(member=people["E"], data={"state": "CA"}, actor=people["E"])
                alert = ResidenceAlert.objects.get(reservation=seats["E"], status="open")
                residence_alert_review(
                    alert=alert, actor=t_user, note="Moving back next month; keeps the seat."
                )
                alert = SafetyAlert.objects.get(reservation=seats["A"])
                safety_alert_review(alert=alert, actor=t_user, note="Called the same day; safety plan made.")

    # Reminders for session 6: the 24-hour ones claimed and one sent; the 1-hour ones
    # claimed and one sent; the rest claimed, not sent yet.
    s6 = sessions[5]
    with travel(s6.starts_at - dt.timedelta(hours=23)):
        claimed = reminders_claim_due()
        a24 = Reminder.objects.get(pk__in=claimed, reservation=seats["A"])
        reminder_send(reminder_id=a24.pk)
    with travel(s6.starts_at - dt.timedelta(minutes=30)):
        claimed = reminders_claim_due()
        reminder_send(reminder_id=Reminder.objects.get(pk__in=claimed, reservation=seats["A"]).pk)
        # G can't make it after all: their 1-hour reminder is not wanted any more (skipped).
        session_excuse(reservation=seats["G"], session=s6, member=people["G"])
        reminder_send(reminder_id=Reminder.objects.get(pk__in=claimed, reservation=seats["G"]).pk)

    # Today: F moves to another group (staff); the last session is cancelled by the therapist.
    target = Group.objects.get(slug="tuesday-evening-dbt-therapy")
    reservation_move(reservation=seats["F"], to_group=target, actor=staff)
    session_cancel(session=sessions[7], actor=t_user, note="Holiday week: no session.")

    # A knox token, a signed-in session, an authenticator with recovery codes.
    AuthToken.objects.create(user=people["A"])
    Client().force_login(people["A"])
    second_factor(t_user)
    RecoveryCodes.activate(t_user)
    return group


# --- A paid therapy group today: Stripe checkouts and webhooks, refunds, a dispute.


def post_event(client: Client, event: dict) -> int:
    payload = json.dumps(event).encode()
    response = client.post(
        WEBHOOK,
        data=payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=fake_stripe.sign(payload),
    )
    return response.status_code


def paid_group(staff: User) -> None:
    today = timezone.localdate()
    starts_on = today + dt.timedelta(days=10)
    group = GroupFactory(
        title="Paid group",
        therapist=licensed_therapist("NY"),
        weekday=starts_on.weekday(),
        starts_on=starts_on,
        price=Decimal("320.00"),
        capacity=6,
    )
    people = [member(state="NY", first_name=f"Payer {n}") for n in range(10)]

    # The offline stand-in (no Stripe key yet).
    held = reservation_hold(member=people[0], group=group, attestations=ALL_TRUE)
    offline_payment_complete(reservation=held, member=people[0])

    fake, server = fake_stripe.start()
    settings.STRIPE_SECRET_KEY = "sk_test_fake"
    settings.STRIPE_API_BASE = fake.url
    settings.STRIPE_WEBHOOK_SECRET = fake_stripe.WEBHOOK_SECRET
    client = Client()
    try:

        def checkout(person):
            reservation = reservation_hold(member=person, group=group, attestations=ALL_TRUE)
            return reservation, stripe_checkout_start(reservation=reservation)

        def pay(payment, status="paid"):
            session = fake.pay(payment.checkout_session_id, payment_status=status)
            assert post_event(client, fake.event("checkout.session.completed", session)) == 200
            return session

        # 1: paid, then cancelled by the member in time: refunded in full, succeeded.
        r1, p1 = checkout(people[1])
        pay(p1)
        reservation_cancel(reservation=Reservation.objects.get(pk=r1.pk), actor=people[1])
        # 2: the checkout page expired.
        _r2, p2 = checkout(people[2])
        assert (
            post_event(client, fake.event("checkout.session.expired", fake.sessions[p2.checkout_session_id]))
            == 200
        )
        # 3: a bank debit: processing, then failed.
        _r3, p3 = checkout(people[3])
        session = pay(p3, status="unpaid")
        assert post_event(client, fake.event("checkout.session.async_payment_failed", session)) == 200
        # 4: paid, cancelled by staff with a full refund Stripe still has pending.
        r4, p4 = checkout(people[4])
        pay(p4)
        fake.refund_status = "pending"
        reservation_cancel(
            reservation=Reservation.objects.get(pk=r4.pk), actor=staff, refund="full", reason="staff"
        )
        # 5: paid; a partial refund Stripe fails; then a dispute.
        _r5, p5 = checkout(people[5])
        session5 = pay(p5)
        fake.refund_status = "failed"
        refund_issue(
            payment=Payment.objects.get(pk=p5.pk), amount=Decimal("50.00"), key="staff-5", reason="staff"
        )
        dispute = {"id": "dp_test_000001", "object": "dispute", "payment_intent": session5["payment_intent"]}
        assert post_event(client, fake.event("charge.dispute.created", dispute)) == 200
        # 6: paid; a refund Stripe keeps refusing: the outbox gives up (failed), staff see it.
        _r6, p6 = checkout(people[6])
        pay(p6)
        fake.refund_status = "succeeded"
        fake.fail_next = [400] * 20
        refund = refund_issue(
            payment=Payment.objects.get(pk=p6.pk), amount=Decimal("20.00"), key="staff-6", reason="staff"
        )
        message = OutboxMessage.objects.get(key=f"refund-send-{refund.pk}")
        later = timezone.now()
        for _ in range(12):
            later += dt.timedelta(hours=1)
            if outbox_deliver(message_id=message.pk, now=later) == "failed":
                break
        fake.fail_next = []
        # 7: a held seat with its checkout page open.
        checkout(people[7])
        # 8: a bank debit still processing.
        _r8, p8 = checkout(people[8])
        pay(p8, status="unpaid")
        # 9: a held seat given up with its checkout page open: the page is closed.
        r9, _p9 = checkout(people[9])
        reservation_cancel(reservation=Reservation.objects.get(pk=r9.pk), actor=people[9])
        # A signed event we cannot read, and one we do not handle.
        assert post_event(client, {"id": "evt_test_broken", "type": "checkout.session.completed"}) == 400
        assert (
            post_event(client, fake.event("customer.created", {"id": "cus_test_1", "object": "customer"}))
            == 200
        )
    finally:
        server.shutdown()
        server.server_close()
        settings.STRIPE_SECRET_KEY = ""
        settings.STRIPE_API_BASE = ""
        settings.STRIPE_WEBHOOK_SECRET = ""


# --- A full free skills group and its waitlist, two days ago.


def waitlist_story() -> None:
    now = timezone.now()
    agreement_only = Attestations(residence=False, location=False, agreement=True)
    with travel(now - dt.timedelta(days=2)):
        starts_on = timezone.localdate() + dt.timedelta(days=9)
        group = GroupFactory(
            title="Full skills group",
            kind=Group.Kind.SKILLS,
            therapist=licensed_therapist("FL"),
            weekday=starts_on.weekday(),
            starts_on=starts_on,
            price=Decimal("0.00"),
            capacity=2,
        )
        w = {n: member(state="TX" if n % 2 else "NY", first_name=f"Waiting {n}") for n in range(1, 9)}
        seats = {
            n: reservation_start(member=w[n], group=group, attestations=agreement_only)[0] for n in (1, 2)
        }
        entries = {n: waitlist_join(member=w[n], group=group) for n in (3, 4, 5, 6, 7)}
        reservation_cancel(reservation=seats[1], actor=w[1])  # offered to 3
        entry = WaitlistEntry.objects.get(pk=entries[3].pk)
        waitlist_offer_accept(entry=entry, member=w[3], attestations=agreement_only)
        reservation_cancel(reservation=seats[2], actor=w[2])  # offered to 4
        waitlist_offer_decline(entry=WaitlistEntry.objects.get(pk=entries[4].pk), actor=w[4])  # to 5
    with travel(now - dt.timedelta(days=2) + dt.timedelta(hours=25)):
        group_refresh_seats(group_id=group.pk, now=timezone.now())  # 5's offer lapsed: to 6
        waitlist_leave(entry=WaitlistEntry.objects.get(pk=entries[7].pk), actor=w[7])
        waitlist_join(member=w[8], group=group)


def accounts(staff: User) -> None:
    unconfirmed = member(state="FL", verified=False, first_name="Unconfirmed")
    confirmation = EmailConfirmation.create(EmailAddress.objects.get(user=unconfirmed))
    confirmation.sent = timezone.now()
    confirmation.save()
    auditor = member(state="NY", first_name="Auditor")
    role_grant(auditor, STAFF)
    auditor.user_permissions.add(Permission.objects.get(codename="view_payment"))
    LogEntry.objects.log_actions(
        user_id=staff.pk,
        queryset=User.objects.filter(pk=auditor.pk),
        action_flag=CHANGE,
        change_message=[{"changed": {"fields": ["Groups"]}}],
        single_object=True,
    )
    Client().force_login(staff)


def main() -> None:
    name = connection.settings_dict["NAME"]
    if not str(name).rsplit("/", 1)[-1].startswith("upgrade"):
        sys.exit(f"refusing to fill {name!r}: only a throw-away database named upgrade*")
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    staff = User.objects.get(email="staff@grouport.test")
    past_program(staff)
    paid_group(staff)
    waitlist_story()
    accounts(staff)

    with connection.cursor() as cursor:
        empty = []
        for table in sorted(connection.introspection.table_names(cursor)):
            cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}")  # noqa: S608
            if cursor.fetchone()[0] == 0:
                empty.append(table)
    print("empty tables:", empty or "none")
    for model, field in [
        (Reservation, "status"),
        (WaitlistEntry, "status"),
        (Reminder, "status"),
        (Payment, "status"),
        (Refund, "status"),
        (OutboxMessage, "status"),
        (AttendanceFlag, "status"),
    ]:
        counts = {}
        for value in model.objects.values_list(field, flat=True):
            counts[value] = counts.get(value, 0) + 1
        print(model.__name__, counts)
    print("outbox kinds", sorted(set(OutboxMessage.objects.values_list("kind", "status"))))


if __name__ == "__main__":
    main()
