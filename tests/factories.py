"""factory_boy factories for the whole suite."""

import contextlib
import datetime as dt
import socket
from decimal import Decimal

import factory
import time_machine
from django.utils import timezone

from enrollment.services.reservations import Attestations, reservation_confirm, reservation_hold
from grouport.models import User
from grouport.roles import STAFF, role_grant
from groups.models import Group, License, Therapist
from groups.services import group_save

# Every statement a reservation asks for, accepted: by the services, by the API, by the form.
ALL_TRUE = Attestations(residence=True, location=True, agreement=True)
ATTEST_JSON = {"attest_residence": True, "attest_location": True, "accept_agreement": True}
ATTEST_FORM = {"attest_residence": "on", "attest_location": "on", "accept_agreement": "on"}
# When seated() seats someone unless told: before the fixed-date groups of the suite begin.
SEATED_AT = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.test")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery")

    @classmethod
    def _after_postgeneration(cls, instance, create, results=None):
        if create:
            instance.save()


class TherapistFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Therapist

    user = factory.SubFactory(UserFactory, is_staff=True)
    display_name = factory.Faker("name")
    credentials = "LCSW"
    bio = "Leads DBT groups."


class LicenseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = License

    therapist = factory.SubFactory(TherapistFactory)
    state = "NY"
    number = factory.Sequence(lambda n: f"LIC-{n:05d}")
    expires_on = factory.LazyFunction(lambda: timezone.localdate() + dt.timedelta(days=3 * 365))


def licensed_therapist(*states: str, expires_on: dt.date | None = None) -> Therapist:
    therapist = TherapistFactory()
    for state in states:
        kwargs = {"expires_on": expires_on} if expires_on else {}
        LicenseFactory(therapist=therapist, state=state, **kwargs)
    return therapist


def _next_weekday(weekday: int) -> dt.date:
    today = timezone.localdate()
    return today + dt.timedelta(days=(weekday - today.weekday()) % 7 or 7)


class GroupFactory(factory.django.DjangoModelFactory):
    """A published group; created through ``group_save`` so its sessions exist."""

    class Meta:
        model = Group

    title = factory.Sequence(lambda n: f"Group {n}")
    slug = factory.Sequence(lambda n: f"group-{n}")
    kind = Group.Kind.THERAPY
    description = "Weekly DBT group."
    therapist = factory.SubFactory(TherapistFactory)
    weekday = 1
    start_time = dt.time(19, 0)
    time_zone = "America/New_York"
    duration_minutes = 90
    starts_on = factory.LazyAttribute(lambda o: _next_weekday(o.weekday))
    weeks = 8
    capacity = 10
    price = Decimal("200.00")
    status = Group.Status.PUBLISHED
    video_url = "https://video.example.com/room"

    @classmethod
    def _create(cls, model_class, *args, modules=None, **kwargs):
        group = model_class(*args, **kwargs)
        return group_save(group=group, modules=modules or ["core_principles", "mindfulness"])


def member(*, state: str = "NY", verified: bool = True, intake: bool = True, **kwargs) -> User:
    """A member with a profile (state, time zone) and, by default, a verified email and
    everything a therapy seat asks first (``intake_given``)."""
    from allauth.account.models import EmailAddress

    from grouport.states import default_time_zone

    kwargs.setdefault("time_zone", default_time_zone(state))
    user = UserFactory(state=state, **kwargs)
    EmailAddress.objects.create(user=user, email=user.email, verified=verified, primary=True)
    if intake:
        intake_given(user)
    return user


ADULT_BIRTH_DATE = dt.date(1990, 6, 15)


def calm_answers() -> dict[int, str]:
    """An answer to every screening question asked now that needs no clinician."""
    from intake.services import answers_without_flags

    return answers_without_flags()


def intake_given(
    user: User,
    *,
    birth_date: dt.date = ADULT_BIRTH_DATE,
    answers: dict[int, str] | None = None,
    consent: bool = True,
    now: dt.datetime | None = None,
):
    """Give ``user`` a complete intake (adult, phones, emergency contact, an address in their
    state), calm screening answers and today's telehealth consent, through the services."""
    from intake.selectors import consent_current
    from intake.services import IntakeData, consent_sign, intake_save

    intake = intake_save(
        member=user,
        data=IntakeData(
            birth_date=birth_date,
            phone="+12125550100",
            emergency_name="Pat Doe",
            emergency_relationship="Sibling",
            emergency_phone="+12125550111",
            address_line="1 Main St",
            address_city="Springfield",
            address_state=user.state if user.state and len(user.state) == 2 else "NY",
            address_postal_code="10001",
        ),
        answers=calm_answers() if answers is None else answers,
        now=now,
    )
    if consent:
        consent_sign(member=user, version=consent_current(now).version, signed_name="Pat Member", now=now)
    return intake


def second_factor(user: User) -> str:
    """Give ``user`` a TOTP authenticator (as enrolling in the app would); return its secret."""
    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    existing = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).first()
    if existing is not None:
        from allauth.mfa.utils import decrypt

        return decrypt(existing.data["secret"])
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return secret


def totp_code(secret: str) -> str:
    """The code an authenticator app shows right now for ``secret``."""
    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value, yield_hotp_counters_from_time

    return format_hotp_value(hotp_value(secret, next(yield_hotp_counters_from_time())))


def sign_in(client, user: User) -> None:
    """Sign ``user`` in as the site's sign-in leaves them: staff and therapists with their
    second factor used (enrolled first if they had none); members with a password."""
    import time

    from allauth.account.internal.flows import login as allauth_login
    from allauth.mfa.models import Authenticator

    from grouport.roles import needs_second_factor

    client.force_login(user)
    if not needs_second_factor(user):
        return
    second_factor(user)
    authenticator = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP)
    session = client.session
    session[allauth_login.AUTHENTICATION_METHODS_SESSION_KEY] = [
        {"method": "password", "at": time.time(), "email": user.email},
        {"method": "mfa", "at": time.time(), "id": authenticator.pk, "type": "totp"},
    ]
    session[allauth_login._AUTHENTICATION_METHODS_USER_SESSION_KEY] = str(user.pk)
    session.save()


def seated(group: Group, who: User | None = None, *, at: dt.datetime | None = SEATED_AT, **member_fields):
    """A confirmed seat in ``group`` for ``who`` (a new member from New York, or with
    ``member_fields``), through the real services: held with every statement, then confirmed.
    ``at``: when (a group of fixed dates must not have started); ``None`` for now."""
    who = who or member(**{"state": "NY", **member_fields})
    with contextlib.nullcontext() if at is None else time_machine.travel(at, tick=False):
        return reservation_confirm(
            reservation=reservation_hold(member=who, group=group, attestations=ALL_TRUE), actor=who
        )


def staff() -> User:
    """A staff account (ops@example.test), without a second factor yet: ``sign_in`` gives one."""
    user = User.objects.create_user("ops@example.test", "pw-ops-123456")
    role_grant(user, STAFF)
    return user


def free_port() -> int:
    """A local port nothing listens on (for a service that is down, or one a test starts)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
