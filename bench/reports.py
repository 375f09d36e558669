"""Reports benchmark: staff reports over 2,000 groups and 500,000 attendance marks.

Loads, into a database of its own, 2,000 groups (200 therapists, each group's weekly
sessions), 50,000 members, 100,000 reservations (mostly confirmed, some cancelled, expired
or held), payments and refunds for the paid groups, waitlist entries, and 500,000
attendance marks, with dates spread over the last ten months and the next two, so that the
default report window (today ± 12 weeks) and an explicit full range both cover a lot of it.
Then it times, in-process with Django's test client as a staff user, ``GET /reports/``
(default filters, the full range, and state NY with kind therapy) and every
``/reports/<key>.csv`` (default filters and the full range, and attendance for NY therapy),
first after loading 20 groups and again at full size. It prints the median and max of each,
the queries per request (which must not grow with the data), the response size, and PASS
or FAIL against 1 second.

A benchmark, not a test: it exits 0 whatever the timings, 1 when the queries of a request
grow with the data, and 2 without PostgreSQL. ``--quick`` loads 20 and then 60 groups and
times each request once (seconds, not minutes); ``--compare REV`` runs it alternately at an
earlier commit and now (bench/compare.py). The last line of its output is its figures as
JSON (``BENCH-JSON {...}``). It
never touches an existing database: it creates ``grouport_bench_<pid>`` on the server
``DATABASE_URL`` names and drops it at the end. With no ``DATABASE_URL``, run it under the
throw-away servers::

    .venv/bin/python -m tests.services .venv/bin/python bench/reports.py

See docs/performance.md for the figures measured.
"""

import argparse
import datetime as dt
import io
import json
import os
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from decimal import Decimal

import _setup

ROOT = _setup.configure(LOG_LEVEL="WARNING")

import django  # noqa: E402

django.setup()

from django.contrib.auth.hashers import make_password  # noqa: E402
from django.db import connection, models, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench._common import (  # noqa: E402
    Figures,
    add_run_options,
    bench_database,
    compare_from_script,
    require_postgres,
)
from billing.models import Payment, Refund  # noqa: E402

try:
    from attendance.models import Attendance
except ImportError:  # a commit before issue 18 split enrollment (--compare)
    from enrollment.models import Attendance
from enrollment.models import Reservation, WaitlistEntry  # noqa: E402
from grouport.models import User  # noqa: E402
from grouport.roles import STAFF, role_grant  # noqa: E402
from groups.models import MODULE_ORDER, Group, GroupModule, GroupSession, Module, Therapist  # noqa: E402
from groups.schedule import weekly_sessions  # noqa: E402
from reports.reports import REPORTS  # noqa: E402

SMALL = 20
QUICK_GROUPS = 60
TARGET_MS = 1000.0
THERAPISTS = 200
# Per group: members are numbered so that group g's reservations go to members 25g to
# 25g + 49 (modulo the member count), so every member holds two reservations and no member
# holds two in one group (the one-active-reservation constraint).
MEMBERS_PER_GROUP = 25
RESERVATIONS_PER_GROUP = 50
ATTENDANCE_PER_GROUP = 250
WAITLIST_MAX = 8

# Where members live, with weights: the service states first, and some from elsewhere.
STATE_MIX = [
    ("NY", 30),
    ("NJ", 18),
    ("FL", 20),
    ("CA", 9),
    ("TX", 9),
    ("PA", 5),
    ("MA", 4),
    ("IL", 3),
    ("XX", 2),
]
TIME_ZONES = [
    "America/New_York",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
]

MINUTE = dt.timedelta(minutes=1)
DAY = dt.timedelta(days=1)


# --- COPY ------------------------------------------------------------------------------------


def _copy_text(value) -> str:
    if value is None:
        return r"\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, dt.date | dt.time):  # datetimes too
        return value.isoformat()
    if isinstance(value, dict | list):
        value = json.dumps(value)
    text = str(value)
    if any(c in text for c in "\\\t\n\r"):
        text = text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return text


def copy_in(
    model: type[models.Model], fields: Sequence[str], rows: Iterable[Sequence], now: dt.datetime
) -> int:
    """``COPY`` rows into ``model``'s table; the fields not given get their model default.

    ``auto_now``/``auto_now_add`` fields not given get ``now``. When ``id`` is given, the
    table's identity sequence is moved past the largest id afterwards.
    """
    meta = model._meta
    given = [meta.get_field(name) for name in fields]
    rest = [f for f in meta.concrete_fields if f.attname not in fields and f.name not in fields]
    filler = []
    for f in rest:
        if f.primary_key:
            continue
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            filler.append((f, now))
            continue
        value = f.get_default()  # "" for a text field without a default, else None
        if value is None and not f.null:
            raise ValueError(f"{model.__name__}.{f.name} needs a value")
        filler.append((f, value))
    columns = ", ".join(connection.ops.quote_name(f.column) for f in [*given, *(f for f, _ in filler)])
    tail = "".join("\t" + _copy_text(v) for _, v in filler)
    buffer = io.StringIO()
    count = 0
    for row in rows:
        buffer.write("\t".join(map(_copy_text, row)))
        buffer.write(tail)
        buffer.write("\n")
        count += 1
    buffer.seek(0)
    table = connection.ops.quote_name(meta.db_table)
    with connection.cursor() as cursor:
        cursor.copy_expert(f"COPY {table} ({columns}) FROM STDIN", buffer)
        if "id" in fields and count:
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence(%s, 'id'), (SELECT max(id) FROM {table}))",  # noqa: S608
                [meta.db_table],
            )
    return count


def next_id(model: type[models.Model]) -> int:
    return (model.objects.aggregate(n=models.Max("pk"))["n"] or 0) + 1


# --- Data ----------------------------------------------------------------------------------


class Load:
    """Grows the data to a number of groups, with members, reservations, money and attendance."""

    def __init__(self, total_groups: int, seed: int = 2026) -> None:
        self.rng = random.Random(seed)
        self.now = timezone.now()
        self.today = timezone.localdate()
        self.member_count = MEMBERS_PER_GROUP * total_groups  # 50,000 for 2,000 groups
        self.members: list[tuple[int, str]] = []  # (user id, state), by member number
        self.therapists: list[Therapist] = []
        self.size = 0
        self.attendance = 0
        self.password = make_password(None)
        # Why a reservation ended (a column older schemas, under --compare, do not have).
        self.end_reasons = any(f.name == "end_reason" for f in Reservation._meta.concrete_fields)
        # Payments keep their list price since fee tiers and codes (a --compare tree may predate it).
        self.list_amounts = any(f.name == "list_amount" for f in Payment._meta.concrete_fields)

    # Members and therapists.

    def _ensure_therapists(self) -> None:
        if self.therapists:
            return
        users = User.objects.bulk_create(
            [
                User(email=f"bench-therapist-{k}@example.test", password=self.password, is_staff=True)
                for k in range(THERAPISTS)
            ]
        )
        self.therapists = Therapist.objects.bulk_create(
            [
                Therapist(
                    user=user, display_name=f"Therapist {k:03d}", credentials="LCSW", bio="Leads DBT groups."
                )
                for k, user in enumerate(users)
            ]
        )

    def _ensure_members(self, count: int) -> None:
        count = min(count, self.member_count)
        start = len(self.members)
        if count <= start:
            return
        first_id = next_id(User)
        states, weights = zip(*STATE_MIX, strict=True)
        new = [(first_id + k, self.rng.choices(states, weights)[0]) for k in range(count - start)]
        joined = self.now - dt.timedelta(days=400)
        copy_in(
            User,
            ["id", "email", "password", "state", "time_zone", "first_name", "date_joined"],
            (
                (user_id, f"bench-member-{start + k}@example.test", self.password, state,
                 "America/New_York", f"Member{start + k}", joined + dt.timedelta(minutes=start + k))
                for k, (user_id, state) in enumerate(new)
            ),
            self.now,
        )  # fmt: skip
        self.members.extend(new)

    def _member(self, number: int) -> tuple[int, str]:
        return self.members[number % self.member_count]

    # Groups and sessions.

    def _group(self, index: int) -> tuple[Group, list[str], list]:
        rng = self.rng
        kind = Group.Kind.SKILLS if index % 3 == 2 else Group.Kind.THERAPY
        weekday = rng.randrange(7)
        # First sessions from 44 weeks ago to 8 weeks ahead, so most groups have met for a while.
        starts_on = self.today + dt.timedelta(days=rng.randrange(-44 * 7, 8 * 7))
        starts_on += dt.timedelta(days=(weekday - starts_on.weekday()) % 7)
        weeks = rng.choice((8, 10, 12, 12))
        modules = sorted(rng.sample(Module.values, rng.randint(1, 5)), key=MODULE_ORDER.__getitem__)
        group = Group(
            title=f"Bench {kind.label} {index:04d}",
            slug=f"bench-report-group-{index:05d}",
            kind=kind,
            description="A weekly online DBT group, loaded by the reports benchmark.",
            therapist=self.therapists[index % THERAPISTS],
            weekday=weekday,
            start_time=dt.time(rng.randrange(8, 21), rng.choice((0, 30))),
            time_zone=rng.choice(TIME_ZONES),
            duration_minutes=rng.choice((60, 90, 120)),
            starts_on=starts_on,
            weeks=weeks,
            capacity=rng.randrange(36, 61),
            price=Decimal("0.00") if kind == Group.Kind.SKILLS else Decimal(rng.choice(("320.00", "450.00"))),
            video_url="https://video.example.com/room",
        )
        slots = weekly_sessions(
            first_on=group.first_session_on,
            start_time=group.start_time,
            time_zone=group.time_zone,
            duration_minutes=group.duration_minutes,
            weeks=weeks,
            modules=modules,
        )
        # bulk_create bypasses save() and the sessions service, which keep these two.
        group.ends_on = group.first_session_on + dt.timedelta(weeks=weeks - 1)
        group.last_session_at = slots[-1].starts_at
        group.status = Group.Status.CLOSED if slots[-1].ends_at < self.now else Group.Status.PUBLISHED
        return group, modules, slots

    # Reservations, payments, refunds, waitlist.

    def _clamp(self, at: dt.datetime) -> dt.datetime:
        return min(at, self.now - MINUTE)

    def _reservations(self, index: int, group: Group, first_at: dt.datetime, out: dict) -> None:
        rng = self.rng
        started = first_at <= self.now
        confirmed = 0
        for k in range(RESERVATIONS_PER_GROUP):
            member_id, state = self._member(index * MEMBERS_PER_GROUP + k)
            rid = out["next_reservation"]
            out["next_reservation"] += 1
            # The same draws for every reservation, so the data depends only on the seed and
            # on where "now" falls, not on which branches earlier reservations took.
            u, cancel_u, source_u, refund_u = rng.random(), rng.random(), rng.random(), rng.random()
            lead = dt.timedelta(minutes=rng.randrange(60, 56 * 24 * 60))  # booked before the start
            ago = dt.timedelta(minutes=rng.randrange(30, 21 * 24 * 60))  # for groups yet to start
            hold_age = dt.timedelta(minutes=rng.randrange(1, 20))
            to_pay = dt.timedelta(minutes=rng.randrange(2, 30))
            stayed = dt.timedelta(hours=rng.randrange(24, 60 * 24))  # confirmed, then cancelled
            to_cancel = dt.timedelta(minutes=rng.randrange(1, 25))  # cancelled while held
            refund_after = dt.timedelta(days=rng.randrange(3, 40))
            created = first_at - lead
            if created >= self.now:
                created = self.now - ago
            status = Reservation.Status.CONFIRMED
            if not started and u < 0.04:
                status = Reservation.Status.HELD
                created = self.now - hold_age
            elif u < 0.15:
                status = Reservation.Status.EXPIRED
            elif u < 0.27:
                status = Reservation.Status.CANCELLED
            elif confirmed >= group.capacity:
                status = Reservation.Status.EXPIRED
            expires = confirmed_at = cancelled_at = None
            source = Reservation.Source.DIRECT
            if status in (Reservation.Status.HELD, Reservation.Status.EXPIRED):
                expires = created + dt.timedelta(minutes=30)
            elif status == Reservation.Status.CONFIRMED:
                confirmed += 1
                confirmed_at = self._clamp(created + to_pay)
                if source_u < 0.04:
                    source = Reservation.Source.WAITLIST
            elif cancel_u < 0.6:  # cancelled after confirming, often after a few sessions
                confirmed_at = self._clamp(created + to_pay)
                cancelled_at = self._clamp(confirmed_at + stayed)
            else:  # cancelled while held
                cancelled_at = self._clamp(created + to_cancel)
            updated = max(t for t in (created, expires, confirmed_at, cancelled_at) if t is not None)
            row = (rid, member_id, group.pk, status, source, expires, state, created, created,
                   confirmed_at, cancelled_at, min(updated, self.now))  # fmt: skip
            if self.end_reasons:
                # Cancelled by the member, or (one in ten cancelled after confirming) by staff.
                end_reason = ""
                if status == Reservation.Status.CANCELLED:
                    end_reason = "staff" if cancel_u < 0.06 else "member"
                row = (*row, end_reason)
            out["reservations"].append(row)
            if group.price > 0:
                refund_at = (
                    self._clamp(confirmed_at + refund_after) if refund_u < 0.03 and confirmed_at else None
                )
                self._payment(rid, group.price, status, created, confirmed_at, cancelled_at, refund_at, out)
        # People waiting for groups that have not ended, and some who gave up on ended ones.
        if index % 3 == 0:
            ended = group.status == Group.Status.CLOSED
            for k in range(rng.randint(1, WAITLIST_MAX)):
                member_id, _ = self._member(index * MEMBERS_PER_GROUP + RESERVATIONS_PER_GROUP + k)
                created = self._clamp(first_at - dt.timedelta(days=rng.randrange(1, 30)))
                status = WaitlistEntry.Status.LEFT if ended else WaitlistEntry.Status.WAITING
                out["waitlist"].append((member_id, group.pk, status, created, created))

    def _payment(self, rid, price, status, created, confirmed_at, cancelled_at, refund_at, out) -> None:
        """One Stripe payment per reservation of a paid group; refunds for cancelled seats.

        ``refund_at``: when a confirmed member got half back as a goodwill gesture, if they did.
        """
        pid = out["next_payment"]
        out["next_payment"] += 1
        refunded = Decimal("0.00")
        ok = Refund.Status.SUCCEEDED
        paid_at = None
        pay_status = Payment.Status.EXPIRED
        if status == Reservation.Status.HELD:
            pay_status = Payment.Status.PENDING
        elif confirmed_at is not None:
            pay_status, paid_at = Payment.Status.PAID, confirmed_at
            if cancelled_at is not None:
                refunded = price
                out["refunds"].append(
                    (pid, price, ok, f"bench-cancel-{rid}", "cancelled", cancelled_at, cancelled_at)
                )
            elif refund_at is not None:
                refunded = (price / 2).quantize(Decimal("0.01"))
                out["refunds"].append(
                    (pid, refunded, ok, f"bench-goodwill-{rid}", "goodwill", refund_at, refund_at)
                )
        out["payments"].append(
            (pid, rid, "stripe", pay_status, price, refunded, f"pi_bench_{pid}" if paid_at else "",
             created, paid_at, paid_at or created, *([price] if self.list_amounts else []))
        )  # fmt: skip

    def _attendance(self, group_ids: list[int], limit: int) -> int:
        """Mark confirmed members (and cancelled ones, until they left) for past sessions.

        Each mark is present, absent or excused from a hash of its ids, present less often
        in later weeks. When there are more candidates than ``limit``, a hash decides which
        marks were never made. Marks come as the product makes them: present from the
        member's check-in (``joined_at`` a few minutes after the start), absent when the
        session closed without them, excused from their notice the day before; one in ten
        was set or corrected by the therapist (``marked_by``). On a schema from before
        attendance had a ``source`` (``--compare`` with an older commit), every mark is the
        therapist's, as it then was.
        """
        t = {
            m: connection.ops.quote_name(m._meta.db_table)
            for m in (Attendance, Reservation, GroupSession, Group, Therapist)
        }
        sources = any(f.name == "source" for f in Attendance._meta.concrete_fields)
        extra_columns = ", source, joined_at" if sources else ""
        extra_values = (
            ", m.source, CASE WHEN m.source = 'check_in' THEN s.starts_at + x.late END" if sources else ""
        )
        sql = f"""
            INSERT INTO {t[Attendance]}
                (session_id, reservation_id, status, marked_by_id, marked_at{extra_columns})
            SELECT s.id, r.id, m.status,
                   CASE WHEN m.source = 'therapist' THEN th.user_id END,
                   CASE m.source WHEN 'check_in' THEN s.starts_at + x.late
                                 WHEN 'member_notice' THEN s.starts_at - interval '20 hours'
                                 WHEN 'session_closed' THEN s.ends_at
                                 ELSE s.ends_at + interval '1 hour' END
                   {extra_values}
            FROM {t[Reservation]} r
            JOIN {t[GroupSession]} s ON s.group_id = r.group_id
            JOIN {t[Group]} g ON g.id = r.group_id
            JOIN {t[Therapist]} th ON th.id = g.therapist_id
            CROSS JOIN LATERAL
                (SELECT ((r.id::bigint * 2654435761 + s.id::bigint * 40503) %% 100)::int AS h,
                        ((r.id::bigint * 31 + s.id::bigint * 17) %% 10)::int AS t,
                        make_interval(mins => ((r.id + s.id) %% 9)::int) AS late) x
            CROSS JOIN LATERAL
                (SELECT CASE WHEN x.h < 90 - 3 * s.number THEN 'present'
                             WHEN x.h < 96 THEN 'absent' ELSE 'excused' END AS status) st
            CROSS JOIN LATERAL
                (SELECT st.status,
                        CASE WHEN NOT %s OR x.t = 0 THEN 'therapist'
                             WHEN st.status = 'present' THEN 'check_in'
                             WHEN st.status = 'absent' THEN 'session_closed'
                             ELSE 'member_notice' END AS source) m
            WHERE r.group_id = ANY(%s)
              AND s.starts_at < %s
              AND r.confirmed_at IS NOT NULL AND s.starts_at > r.confirmed_at
              AND (r.status = 'confirmed' OR (r.status = 'cancelled' AND s.starts_at < r.cancelled_at))
            ORDER BY (r.id::bigint * 7919 + s.id::bigint * 104729) %% 100003, r.id, s.id
            LIMIT %s
        """  # noqa: S608 (table names from the models)
        with connection.cursor() as cursor:
            cursor.execute(sql, [sources, group_ids, self.now, limit])
            return cursor.rowcount

    def grow(self, size: int) -> None:
        """Add groups, with everything that hangs off them, until there are ``size``."""
        self._ensure_therapists()
        self._ensure_members(MEMBERS_PER_GROUP * size + RESERVATIONS_PER_GROUP + WAITLIST_MAX)
        planned = [self._group(index) for index in range(self.size, size)]
        with transaction.atomic():
            groups = Group.objects.bulk_create([g for g, _, _ in planned], batch_size=500)
            GroupModule.objects.bulk_create(
                [
                    GroupModule(group=g, module=m)
                    for g, (_, modules, _) in zip(groups, planned, strict=True)
                    for m in modules
                ],
                batch_size=5000,
            )
            copy_in(
                GroupSession,
                ["group", "number", "starts_at", "ends_at", "module"],
                (
                    (g.pk, slot.number, slot.starts_at, slot.ends_at, slot.module)
                    for g, (_, _, slots) in zip(groups, planned, strict=True)
                    for slot in slots
                ),
                self.now,
            )
            out = {
                "next_reservation": next_id(Reservation),
                "next_payment": next_id(Payment),
                "reservations": [],
                "payments": [],
                "refunds": [],
                "waitlist": [],
            }
            for index, (g, (_, _, slots)) in enumerate(zip(groups, planned, strict=True), start=self.size):
                self._reservations(index, g, slots[0].starts_at, out)
            copy_in(
                Reservation,
                ["id", "member", "group", "status", "source", "expires_at", "residence_state",
                 "attested_at", "created_at", "confirmed_at", "cancelled_at", "updated_at",
                 *(["end_reason"] if self.end_reasons else [])],
                out["reservations"],
                self.now,
            )  # fmt: skip
            copy_in(
                Payment,
                ["id", "reservation", "provider", "status", "amount", "amount_refunded", "payment_intent_id",
                 "created_at", "paid_at", "updated_at", *(["list_amount"] if self.list_amounts else [])],
                out["payments"],
                self.now,
            )  # fmt: skip
            copy_in(
                Refund,
                ["payment", "amount", "status", "key", "reason", "created_at", "updated_at"],
                out["refunds"],
                self.now,
            )
            copy_in(
                WaitlistEntry,
                ["member", "group", "status", "created_at", "updated_at"],
                out["waitlist"],
                self.now,
            )
            target = ATTENDANCE_PER_GROUP * size
            self.attendance += self._attendance([g.pk for g in groups], target - self.attendance)
        # Planner statistics, as autovacuum would have gathered them on a live database.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        self.size = size

    def describe(self, default: tuple[dt.date, dt.date]) -> str:
        start = dt.datetime.combine(default[0], dt.time.min, tzinfo=dt.UTC)
        end = dt.datetime.combine(default[1] + DAY, dt.time.min, tzinfo=dt.UTC)
        statuses = Counter(
            dict(Reservation.objects.order_by().values_list("status").annotate(n=models.Count("pk")))
        )
        in_window = Attendance.objects.filter(
            session__starts_at__gte=start, session__starts_at__lt=end
        ).count()
        return (
            f"{Group.objects.count():,} groups ({GroupSession.objects.count():,} sessions), "
            f"{len(self.members):,} members, {sum(statuses.values()):,} reservations "
            f"({', '.join(f'{n:,} {s}' for s, n in statuses.most_common())}), "
            f"{Payment.objects.count():,} payments, {Refund.objects.count():,} refunds, "
            f"{WaitlistEntry.objects.count():,} waitlist entries, {Attendance.objects.count():,} attendance "
            f"marks ({in_window:,} in the default window)"
        )


# --- Measuring -----------------------------------------------------------------------------


def fetch(client: Client, path: str, params: dict[str, str]):
    response = client.get(path, params)
    if response.status_code != 200:
        raise SystemExit(f"{path} {params} answered {response.status_code}: {response.content[:300]!r}")
    return response


def measure(client: Client, label: str, path: str, params: dict[str, str], runs: int) -> dict:
    fetch(client, path, params)  # warm-up
    with CaptureQueriesContext(connection) as captured:
        response = fetch(client, path, params)
    # Copied now: every request clears the connection's query log (reset_queries).
    queries = list(captured.captured_queries)
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        fetch(client, path, params)
        timings.append((time.perf_counter() - started) * 1000)
    body = response.content
    return {
        "label": label,
        "queries": queries,
        "size": len(body),
        "rows": body.count(b"\n") - 1 if path.endswith(".csv") else None,
        "median": statistics.median(timings),
        "max": max(timings),
    }


def endpoints(full: dict[str, str]) -> list[tuple[str, str, dict[str, str]]]:
    filtered = {"state": "NY", "kind": Group.Kind.THERAPY}
    return [
        ("/reports/", "/reports/", {}),
        ("/reports/ full range", "/reports/", full),
        ("/reports/?state=NY&kind=therapy", "/reports/", filtered),
        *((f"{key}.csv", f"/reports/{key}.csv", {}) for key in REPORTS),
        *((f"{key}.csv full range", f"/reports/{key}.csv", full) for key in REPORTS),
        ("attendance.csv NY therapy", "/reports/attendance.csv", filtered),
    ]


def slowest(result: dict) -> dict:
    return max(result["queries"], key=lambda q: float(q["time"]))


def explain(sql: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
        return "\n".join(row[0] for row in cursor.fetchall())


def print_queries(result: dict, size: int) -> None:
    print(f"\n  {result['label']} at {size:,} groups: {len(result['queries'])} queries")
    for query in result["queries"]:
        sql = " ".join(query["sql"].split())
        print(f"    {float(query['time']) * 1000:8.2f} ms  {sql[:150]}{'…' if len(sql) > 150 else ''}")


def staff_sign_in(client: Client, staff: User) -> None:
    """Sign the staff user in with their second factor used, as the site requires of staff.

    ``tests.factories.sign_in`` does it as the suite does; before staff needed a second
    factor (an older tree under ``--compare``) there is none, and logging in is enough.
    """
    try:
        from tests.factories import sign_in
    except ImportError:
        client.force_login(staff)
    else:
        sign_in(client, staff)


def run(args: argparse.Namespace, figures: Figures) -> None:
    client = Client()
    staff = User.objects.create_user(email="bench-staff@example.test")
    role_grant(staff, STAFF)
    staff_sign_in(client, staff)
    load = Load(args.groups)
    default = (load.today - dt.timedelta(weeks=12), load.today + dt.timedelta(weeks=12))  # ReportFilterForm's
    full_from = load.today - dt.timedelta(weeks=56)  # before the first reservation was made
    full_to = load.today + dt.timedelta(weeks=26)  # after the last session
    full = {"date_from": full_from.isoformat(), "date_to": full_to.isoformat()}
    print(f"default window {default[0]} to {default[1]}; full range {full_from} to {full_to}", flush=True)

    results: dict[int, list[dict]] = {}
    for size in (SMALL, args.groups):
        started = time.monotonic()
        load.grow(size)
        print(f"\nloaded in {time.monotonic() - started:.1f}s: {load.describe(default)}", flush=True)
        results[size] = []
        for label, path, params in endpoints(full):
            results[size].append(measure(client, label, path, params, args.runs))
            r = results[size][-1]
            print(f"  {label:<34} {r['median']:8.1f} ms median, {len(r['queries'])} queries", flush=True)
        # Other work on the machine shows here: the timings are only as quiet as the CPUs were.
        print(f"  (load average {'/'.join(f'{x:.2f}' for x in os.getloadavg())} after measuring)", flush=True)

    print(f"\n1 warm-up and 1 counted request, then {args.runs} timed ones each; times in ms\n")
    header = (
        f"{'endpoint':<34} {'groups':>6} {'queries':>7} {'rows':>7} {'KB':>7} {'median':>8} {'max':>8}  "
        f"{'slowest query':>13}  verdict"
    )
    print(header)
    print("-" * len(header))
    for size, rows in results.items():
        for r in rows:
            verdict = (
                "PASS"
                if r["max"] < TARGET_MS
                else ("FAIL (median)" if r["median"] >= TARGET_MS else "FAIL (max)")
            )
            rows_text = f"{r['rows']:,}" if r["rows"] is not None else "-"
            print(
                f"{r['label']:<34} {size:>6,} {len(r['queries']):>7} {rows_text:>7} {r['size'] / 1024:>7.1f} "
                f"{r['median']:>8.1f} {r['max']:>8.1f}  {float(slowest(r)['time']) * 1000:>10.1f} ms  "
                f"{verdict}"
            )
    print()
    grown = [
        f"{small['label']} {len(small['queries'])} -> {len(large['queries'])}"
        for small, large in zip(results[SMALL], results[args.groups], strict=True)
        if len(small["queries"]) != len(large["queries"])
    ]
    print("queries per request: " + ("the same at both sizes" if not grown else "GROW: " + "; ".join(grown)))
    figures.check("queries the same at both sizes", not grown)
    for size, rows in results.items():
        for r in rows:
            figures.add(f"{r['label']} @{size} median", r["median"], "ms")
    for r in results[args.groups]:
        figures.add(f"{r['label']} queries", len(r["queries"]), "queries", exact=True)
    failed = [r for r in results[args.groups] if r["max"] >= TARGET_MS]
    print(
        f"target < {TARGET_MS:.0f} ms each at {args.groups:,} groups: "
        + ("PASS" if not failed else f"FAIL ({', '.join(r['label'] for r in failed)})")
    )

    print(f"\nslowest query of each request at {args.groups:,} groups:")
    for r in results[args.groups]:
        q = slowest(r)
        sql = " ".join(q["sql"].split())
        print(f"  {r['label']:<34} {float(q['time']) * 1000:8.1f} ms  {sql[:110]}…")
    for r in results[args.groups]:
        if r in failed or args.explain:
            sql = slowest(r)["sql"]
            if sql.lstrip().upper().startswith("SELECT"):
                print(f"\nEXPLAIN ANALYZE of the slowest query of {r['label']}:\n{sql}\n{explain(sql)}")
    if args.show_queries:
        for size, rows in results.items():
            for r in rows:
                print_queries(r, size)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--groups",
        type=int,
        help=f"size of the second phase, x25 members, ... (2,000; --quick {QUICK_GROUPS})",
    )
    parser.add_argument("--runs", type=int, help="timed requests per endpoint and size (5; --quick 1)")
    parser.add_argument("--show-queries", action="store_true", help="print each request's SQL with its time")
    parser.add_argument(
        "--explain", action="store_true", help="EXPLAIN ANALYZE every request's slowest query"
    )
    add_run_options(parser, f"{SMALL} and {QUICK_GROUPS} groups, 1 timed request each")
    args = parser.parse_args()
    if args.groups is None:
        args.groups = QUICK_GROUPS if args.quick else 2000
    if args.runs is None:
        args.runs = 1 if args.quick else 5
    if args.groups <= SMALL:
        parser.error(f"--groups must be more than {SMALL}")
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if args.compare:
        return compare_from_script("reports", args)
    if not require_postgres("bench/reports.py"):
        return 2
    figures = Figures("reports", args.quick)
    with bench_database():
        run(args, figures)
    print(
        "\ncorrectness (every request 200, queries the same at both sizes): "
        + ("PASS" if figures.ok else "FAIL")
    )
    figures.emit()
    return 0 if figures.ok else 1


if __name__ == "__main__":
    sys.exit(main())
