"""Load demo data: therapists, published groups of both kinds, a staff user and a member.

Idempotent: running it again changes nothing that is already there, so ``make run`` can
call it every time without moving anyone's edits.
"""

import datetime as dt
from decimal import Decimal

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from billing.models import FeeTier, PromoCode
from care.models import OnCallClinician, OnCallShift
from enrollment.models import Reservation
from grouport.models import User
from grouport.roles import STAFF, THERAPIST, role_grant
from groups.models import Group, License, Module, Therapist
from groups.services import group_save
from intake.models import ConsentSignature, MemberIntake, ScreeningAnswer
from intake.selectors import consent_current, member_intake
from intake.services import IntakeData, answers_without_flags, consent_sign, intake_save

STAFF_EMAIL, STAFF_PASSWORD = "staff@grouport.test", "demo-staff-pass"
MEMBER_EMAIL, MEMBER_PASSWORD = "member@grouport.test", "demo-member-pass"
THERAPIST_PASSWORD = "demo-therapist-pass"

THERAPISTS = [
    {
        "email": "maya.alvarez@grouport.test",
        "display_name": "Dr. Maya Alvarez",
        "credentials": "PhD, Licensed Psychologist",
        "bio": "Maya has led DBT programs in Tallahassee and Pensacola for twelve years.",
        "licenses": [("FL", "PY-10482")],
        "npi": "1234567893",
    },
    {
        "email": "jordan.kim@grouport.test",
        "display_name": "Jordan Kim",
        "credentials": "LCSW",
        "bio": "Jordan is intensively trained in DBT and practises across New York and New Jersey.",
        "licenses": [("NY", "LCSW-088213"), ("NJ", "44SC06123400")],
        "npi": "1987654328",
    },
    {
        "email": "priya.shah@grouport.test",
        "display_name": "Priya Shah",
        "credentials": "LMHC",
        "bio": "Priya focuses on emotion regulation and skills for everyday life.",
        "licenses": [("FL", "MH-19230"), ("NY", "LMHC-007731")],
        "npi": "1555123409",
    },
]

ALL_MODULES = [m.value for m in Module]
NEARLY_FULL = "saturday-dbt-therapy-nj-ny"

GROUPS = [
    {
        "slug": "tuesday-evening-dbt-therapy",
        "title": "Tuesday Evening DBT Therapy Group",
        "kind": Group.Kind.THERAPY,
        "therapist": "jordan.kim@grouport.test",
        "weekday": 1,
        "start_time": dt.time(19, 0),
        "time_zone": "America/New_York",
        "weeks": 8,
        "capacity": 10,
        "price": Decimal("320.00"),
        "modules": ALL_MODULES,
        "description": "An eight-week therapy group working through all four DBT skills modules, "
        "opening with DBT's core principles. For adults living in New York or New Jersey.",
    },
    {
        "slug": "panhandle-dbt-therapy",
        "title": "Panhandle DBT Therapy Group",
        "kind": Group.Kind.THERAPY,
        "therapist": "maya.alvarez@grouport.test",
        "weekday": 3,
        "start_time": dt.time(18, 0),
        "time_zone": "America/Chicago",
        "weeks": 8,
        "capacity": 8,
        "price": Decimal("320.00"),
        "modules": ALL_MODULES,
        "description": "Thursday evenings on Central time, for Floridians west of the Apalachicola "
        "River and anyone in Florida whose evenings suit it.",
    },
    {
        "slug": "monday-morning-dbt-therapy",
        "title": "Monday Morning DBT Therapy Group",
        "kind": Group.Kind.THERAPY,
        # A clinician reads each intake before a seat is paid for (try it as a new member).
        "requires_review": True,
        "therapist": "priya.shah@grouport.test",
        "weekday": 0,
        "start_time": dt.time(10, 0),
        "time_zone": "America/New_York",
        "weeks": 12,
        "capacity": 10,
        "price": Decimal("450.00"),
        "modules": ALL_MODULES,
        "description": "A twelve-week cycle with more time for practice in each module. For Florida "
        "and New York residents.",
    },
    {
        "slug": "saturday-dbt-therapy-nj-ny",
        "title": "Saturday DBT Therapy Group",
        "kind": Group.Kind.THERAPY,
        "therapist": "jordan.kim@grouport.test",
        "weekday": 5,
        "start_time": dt.time(11, 0),
        "time_zone": "America/New_York",
        "weeks": 8,
        "capacity": 6,
        "price": Decimal("320.00"),
        "modules": [Module.CORE_PRINCIPLES, Module.DISTRESS_TOLERANCE, Module.EMOTION_REGULATION],
        "description": "A small weekend group for New York and New Jersey residents.",
    },
    {
        "slug": "dbt-skills-foundations-free",
        "title": "DBT Skills Foundations (free)",
        "kind": Group.Kind.SKILLS,
        "therapist": "priya.shah@grouport.test",
        "weekday": 2,
        "start_time": dt.time(20, 0),
        "time_zone": "America/New_York",
        "weeks": 4,
        "capacity": 30,
        "price": Decimal("0.00"),
        "modules": [Module.CORE_PRINCIPLES, Module.MINDFULNESS],
        "description": "A free four-week introduction to DBT skills, open to everyone. Educational, "
        "not therapy.",
    },
    {
        "slug": "emotion-regulation-skills",
        "title": "Emotion Regulation Skills Group",
        "kind": Group.Kind.SKILLS,
        "therapist": "maya.alvarez@grouport.test",
        "weekday": 6,
        "start_time": dt.time(16, 0),
        "time_zone": "America/Chicago",
        "weeks": 8,
        "capacity": 20,
        "price": Decimal("120.00"),
        "modules": [Module.EMOTION_REGULATION, Module.MINDFULNESS],
        "description": "Learn to understand and ride out intense emotions. Open to everyone, "
        "wherever you live.",
    },
    {
        "slug": "west-coast-dbt-skills",
        "title": "West Coast DBT Skills Group",
        "kind": Group.Kind.SKILLS,
        "therapist": "jordan.kim@grouport.test",
        "weekday": 3,
        "start_time": dt.time(18, 30),
        "time_zone": "America/Los_Angeles",
        "weeks": 8,
        "capacity": 16,
        "price": Decimal("160.00"),
        "modules": ALL_MODULES,
        "description": "All four DBT skills modules at an evening hour for the Pacific time zone.",
    },
    {
        "slug": "lunchtime-distress-tolerance",
        "title": "Lunchtime Distress Tolerance Skills",
        "kind": Group.Kind.SKILLS,
        "therapist": "maya.alvarez@grouport.test",
        "weekday": 4,
        "start_time": dt.time(12, 0),
        "time_zone": "America/New_York",
        "weeks": 6,
        "capacity": 12,
        "price": Decimal("90.00"),
        "modules": [Module.DISTRESS_TOLERANCE, Module.INTERPERSONAL_EFFECTIVENESS],
        "description": "Six lunchtime sessions of practical skills for getting through a crisis "
        "without making it worse.",
    },
]


def _next_weekday(after: dt.date, weekday: int) -> dt.date:
    return after + dt.timedelta(days=(weekday - after.weekday()) % 7 or 7)


class Command(BaseCommand):
    help = "Load demo therapists, groups and accounts (safe to run again)."

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        if settings.PRODUCTION:
            # Its passwords are in the README: a superuser anyone can sign in as.
            raise CommandError(
                "seed_demo makes accounts whose passwords are published in the README; it does not "
                "run with DJANGO_ENV=production."
            )
        today = timezone.localdate()
        created = 0
        staff, new = User.objects.get_or_create(
            email=STAFF_EMAIL,
            defaults={"first_name": "Sam", "last_name": "Staff", "is_staff": True, "is_superuser": True},
        )
        if new:
            staff.set_password(STAFF_PASSWORD)
            staff.save()
        member, new = User.objects.get_or_create(
            email=MEMBER_EMAIL,
            defaults={
                "first_name": "Alex",
                "last_name": "Member",
                "state": "NY",
                "time_zone": "America/New_York",
            },
        )
        if new:
            member.set_password(MEMBER_PASSWORD)
            member.save()
        self._intake(member)  # first: the member's row is locked before any group's

        therapists: dict[str, Therapist] = {}
        for spec in THERAPISTS:
            first, _, last = spec["display_name"].removeprefix("Dr. ").partition(" ")
            user, new = User.objects.get_or_create(
                email=spec["email"], defaults={"first_name": first, "last_name": last, "is_staff": True}
            )
            if new:
                user.set_password(THERAPIST_PASSWORD)
                user.save()
            therapist, _ = Therapist.objects.get_or_create(
                user=user,
                defaults={k: spec[k] for k in ("display_name", "credentials", "bio", "npi")},
            )
            for state, number in spec["licenses"]:
                License.objects.get_or_create(
                    therapist=therapist,
                    state=state,
                    number=number,
                    defaults={"expires_on": dt.date(today.year + 2, 12, 31)},
                )
            therapists[spec["email"]] = therapist

        for index, spec in enumerate(GROUPS):
            if Group.objects.filter(slug=spec["slug"]).exists():
                continue
            starts_on = _next_weekday(today + dt.timedelta(days=3 + 2 * index), spec["weekday"])
            fields = {k: v for k, v in spec.items() if k not in ("therapist", "modules")}
            group = Group(
                **fields,
                therapist=therapists[spec["therapist"]],
                starts_on=starts_on,
                status=Group.Status.PUBLISHED,
                video_url=f"https://video.example.com/grouport/{spec['slug']}",
            )
            group_save(group=group, modules=spec["modules"])
            created += 1
        role_grant(staff, STAFF)
        for therapist in therapists.values():
            role_grant(therapist.user, THERAPIST)
        # Demo accounts can log in at once: their addresses count as verified.
        for user in User.objects.filter(email__endswith="@grouport.test"):
            EmailAddress.objects.get_or_create(
                user=user, email=user.email, defaults={"verified": True, "primary": True}
            )
        self._fill(Group.objects.get(slug=NEARLY_FULL), leave_free=1, now=timezone.now())
        self._fees()
        self._rota(staff, therapists, now=timezone.now())
        self.stdout.write(self.style.SUCCESS(f"Demo data ready ({created} groups created)."))

    def _fees(self) -> None:
        """The Tuesday group offers a reduced fee (members choose it) and financial assistance
        (staff give it); a promotion code takes 10% off any seat (billing/pricing.py)."""
        tuesday = Group.objects.get(slug="tuesday-evening-dbt-therapy")
        FeeTier.objects.get_or_create(
            group=tuesday,
            kind=FeeTier.Kind.REDUCED,
            defaults={"price": Decimal("200.00"), "self_select": True},
        )
        FeeTier.objects.get_or_create(
            group=tuesday,
            kind=FeeTier.Kind.ASSISTED,
            defaults={"price": Decimal("80.00"), "self_select": False},
        )
        PromoCode.objects.get_or_create(code="WELCOME10", defaults={"percent_off": 10})

    def _rota(self, staff: User, therapists: dict[str, Therapist], *, now) -> None:
        """An on-call rota for the next four weeks (fictional 555-012x numbers; with no Twilio
        account the pages are printed to the console): Jordan first, Maya next, Sam leads."""
        people = [
            (therapists["jordan.kim@grouport.test"].user, "+12125550121", False, 1),
            (therapists["maya.alvarez@grouport.test"].user, "+12125550122", False, 2),
            (staff, "+12125550129", True, None),
        ]
        for user, phone, lead, position in people:
            clinician, made = OnCallClinician.objects.get_or_create(
                user=user, defaults={"phone": phone, "is_lead": lead, "zone": "America/New_York"}
            )
            if made and position is not None:
                OnCallShift.objects.create(
                    clinician=clinician, starts_at=now - dt.timedelta(hours=1),
                    ends_at=now + dt.timedelta(days=28), position=position,
                )  # fmt: skip

    def _intake(self, member: User) -> None:
        """The demo member has given their intake and signed the consent (a new account goes
        through both on its way to a therapy seat)."""
        if member_intake(member) is not None:
            return
        answers = answers_without_flags()
        intake_save(
            member=member,
            data=IntakeData(
                birth_date=dt.date(1991, 5, 14),
                phone="+12125550100",
                emergency_name="Jordan Member",
                emergency_relationship="Partner",
                emergency_phone="+12125550101",
                address_line="100 Demo St",
                address_city="New York",
                address_state="NY",
                address_postal_code="10001",
            ),
            answers=answers,
        )
        consent_sign(
            member=member, version=consent_current().version, signed_name="Alex Member", ip="127.0.0.1"
        )

    def _fill(self, group: Group, *, leave_free: int, now) -> None:
        """Give a group confirmed demo members until only ``leave_free`` seats are left."""
        for n in range(1, group.capacity - leave_free + 1):
            member, new = User.objects.get_or_create(
                email=f"demo-member-{group.pk}-{n}@example.invalid",
                defaults={"first_name": "Demo", "last_name": f"Member {n}", "state": "NY"},
            )
            if new:
                member.set_unusable_password()
                member.save()
                self._demo_intake(member, n=n, now=now)
            Reservation.objects.get_or_create(
                member=member,
                group=group,
                status=Reservation.Status.CONFIRMED,
                defaults={"residence_state": "NY", "attested_at": now, "confirmed_at": now},
            )

    def _demo_intake(self, member: User, *, n: int, now) -> None:
        """A seated demo member's intake and consent, as rows (no service: the groups' rows are
        locked already, and a member's lock comes first in the order)."""
        MemberIntake.objects.create(
            member=member,
            birth_date=dt.date(1980 + n % 20, 1 + n % 12, 1 + n % 28),
            phone=f"+1212555{n:04d}",
            emergency_name=f"Demo Contact {n}",
            emergency_relationship="Friend",
            emergency_phone=f"+1201555{n:04d}",
            address_line=f"{n} Demo Ave",
            address_city="New York",
            address_state="NY",
            address_postal_code="10001",
            confirmed_at=now,
        )
        ScreeningAnswer.objects.bulk_create(
            ScreeningAnswer(member=member, question_id=q, answer=a, answered_at=now)
            for q, a in answers_without_flags().items()
        )
        ConsentSignature.objects.create(
            member=member, version=consent_current(), signed_name=f"Demo Member {n}", signed_at=now
        )
