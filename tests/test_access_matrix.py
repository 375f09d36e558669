"""Every route, asked by everyone: member data is guarded by what it is, not by its URL.

The test walks the URL resolver (pages, API, admin, reports, exports, webhooks, allauth) and
builds a real URL for every route, with ids and tokens that name one member's data: Ana's
seat, payment, refund, attendance, flags, alerts, questionnaire, waitlist entry, join link and
API token. Then it asks every route (GET and POST; DELETE and PATCH on the API) as:

- nobody signed in;
- Ana herself (a session, and an API token); another member (with a second factor; and a token);
- the therapist of Ana's group: with a second factor; with a password-only session; with a
  token issued after their second factor; with one from before it;
- the therapist of another group (session, token); staff: with and without a second factor,
  by session and by token.

And it checks, for every route and every one of them:

1. The route is classified (``grouport/access.py``): a new route fails here until someone says
   what it shows.
2. No server error, whoever asks.
3. Ana's email and surname reach nobody who may not see them for that kind of route: her own
   data only her; a group's members its therapist and staff (with a second factor); operations
   pages staff only. Public and account pages show them to nobody but Ana.
4. Staff and therapists without a second factor get nothing but public and account routes: a
   page sends them to enrol or enter a code, the API says ``second_factor_required``.
5. Someone not signed in is sent to sign in (or told 401/403) on every private route.
6. Every look at Ana's data by staff or a therapist writes an audit entry.

Each request runs in a savepoint that is rolled back, so the world stays as built.
"""

import contextlib
import re
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from allauth.account.models import EmailAddress
from django.contrib import admin
from django.contrib.auth.models import Group as Role
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.test import Client
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, resolve, reverse
from django.utils import timezone
from knox.models import AuthToken

from attendance.join import join_token
from attendance.models import Attendance, AttendanceFlag, CheckIn, Reminder
from billing.models import AssistanceRequest, FeeTier, Payment, PromoCode, Refund, WebhookRejection
from billing.services import offline_payment_complete, refund_issue
from care.links import survey_token
from care.models import Measure, OnCallClinician, OutcomeSurvey, SafetyAlert, SuperbillRequest
from enrollment.models import GroupAgreement, Reservation, ResidenceAlert, SeatReview, WaitlistEntry
from enrollment.selectors import agreement_current
from enrollment.services.reservations import reservation_confirm, reservation_hold
from enrollment.services.waitlist import waitlist_join
from grouport.access import BEFORE_SECOND_FACTOR, Access, access_of
from grouport.models import AuditEntry, OutboxMessage, User
from grouport.roles import STAFF, THERAPIST, role_grant
from groups.models import Group, GroupSession, Therapist
from intake.models import ConsentVersion, ScreeningFlag, ScreeningQuestion
from intake.selectors import consent_current
from intake.services import screening_flag_raise
from tests.factories import (
    ALL_TRUE,
    GroupFactory,
    UserFactory,
    licensed_therapist,
    member,
    second_factor,
    sign_in,
)
from texting.models import InboundText, TextMessage, TextSubscription

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

ANA_EMAIL = "ana.zyxwmarker@example.test"
ANA_SURNAME = "Zyxwmarker"
# Her intake carries its own markers: a phone number (as E.164 and as people read it) and a
# street, which only she, her therapist and staff may see.
ANA_PHONE, ANA_STREET = "+12125550177", "77 Quixmarker Rd"
MARKERS = (ANA_EMAIL, ANA_SURNAME, "5550177", "555-0177", "Quixmarker")
API_METHODS = ("get", "post", "patch", "delete")
PAGE_METHODS = ("get", "post")


@dataclass
class Who:
    name: str
    client: Client
    user: User | None
    token: bool = False
    clinician: bool = False  # staff or therapist
    second_factor: bool = True
    sees: frozenset = field(default_factory=frozenset)  # the kinds of route where Ana's data may appear


def _mfa_session(client: Client, user: User) -> None:
    """A session whose sign-in used the second factor (as allauth records it)."""
    import time

    from allauth.account.internal.flows import login as allauth_login
    from allauth.mfa.models import Authenticator

    client.force_login(user)
    authenticator = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP)
    session = client.session
    session[allauth_login.AUTHENTICATION_METHODS_SESSION_KEY] = [
        {"method": "password", "at": time.time(), "email": user.email},
        {"method": "mfa", "at": time.time(), "id": authenticator.pk, "type": "totp"},
    ]
    session[allauth_login._AUTHENTICATION_METHODS_USER_SESSION_KEY] = str(user.pk)
    session.save()


def _token_client(user: User) -> Client:
    _instance, token = AuthToken.objects.create(user=user)
    return Client(HTTP_AUTHORIZATION=f"Token {token}")


def _world(settings) -> dict:
    settings.STRIPE_SECRET_KEY = ""  # the offline stand-in takes the payment
    therapist_a, therapist_b = licensed_therapist("NY"), licensed_therapist("NY")
    for therapist in (therapist_a, therapist_b):
        role_grant(therapist.user, THERAPIST)
    group_a = GroupFactory(title="Alpha", therapist=therapist_a, price=Decimal("200.00"), capacity=4)
    group_b = GroupFactory(title="Bravo", therapist=therapist_b, price=Decimal("0.00"), capacity=1)
    ana = member(email=ANA_EMAIL, first_name="Ana", last_name=ANA_SURNAME)
    bea = member(email="bea.other@example.test", first_name="Bea", last_name="Other")
    intake = ana.intake
    intake.phone, intake.address_line = ANA_PHONE, ANA_STREET
    intake.save()
    reservation = reservation_hold(member=ana, group=group_a, attestations=ALL_TRUE)
    payment = offline_payment_complete(reservation=reservation, member=ana)
    hospital = ScreeningQuestion.objects.get(position=20)
    screening_flag = screening_flag_raise(member=ana, questions=[hospital.pk], now=timezone.now())
    # A seat of hers held for the intake review, in another of her therapist's groups.
    group_c = GroupFactory(
        title="Charlie", therapist=therapist_a, price=Decimal("0.00"), requires_review=True
    )
    review = reservation_hold(member=ana, group=group_c, attestations=ALL_TRUE)
    reservation.refresh_from_db()
    refund = refund_issue(payment=payment, amount=Decimal("10.00"), key="matrix", reason="staff")
    reservation_confirm(
        reservation=reservation_hold(member=bea, group=group_b, attestations=ALL_TRUE), actor=bea
    )
    entry = waitlist_join(member=ana, group=group_b)
    session = group_a.sessions.order_by("number").first()
    Attendance.objects.create(session=session, reservation=reservation, status="present", source="check_in")
    CheckIn.objects.create(session=session, reservation=reservation, state="NY", admitted=True)
    flag = AttendanceFlag.objects.create(reservation=reservation, session=session, misses=2, limit=4)
    residence = ResidenceAlert.objects.create(
        reservation=reservation, group=group_a, old_state="NY", new_state="TX"
    )
    survey = OutcomeSurvey.objects.create(
        reservation=reservation, time_point="baseline", opens_at=session.starts_at, closes_at=session.ends_at
    )
    survey.measures.set(Measure.objects.filter(active=True))
    safety = SafetyAlert.objects.create(
        survey=survey, reservation=reservation, safety_answers={"PHQ-9": {"9": 1}}
    )
    reminder = Reminder.objects.create(session=session, reservation=reservation, kind="24h")
    # Her texts: the number she asked reminders at, a text to it, and one she sent us.
    subscription = TextSubscription.objects.create(member=ana, phone=ANA_PHONE, status="on")
    text = TextMessage.objects.create(key="matrix-text", purpose="reminder", to=ANA_PHONE, member=ana)
    inbound = InboundText.objects.create(
        message_sid="SM" + "7" * 32, from_phone=ANA_PHONE, outcome="unread", status="new", body="Quixmarker"
    )
    # Another therapist is on call (paged for nothing yet).
    on_call = OnCallClinician.objects.create(user=therapist_b.user, phone="+12125550999")
    rejection = WebhookRejection.objects.create(reason="matrix")
    staff, staff_plain = UserFactory(email="ops@example.test"), UserFactory(email="ops2@example.test")
    for person in (staff, staff_plain):
        role_grant(person, STAFF)
    ana_token_instance, ana_token = AuthToken.objects.create(user=ana)

    # Who asks. Tokens from before a second factor first, then the second factors.
    old_token_therapist = _token_client(therapist_a.user)
    token_staff_plain = _token_client(staff_plain)
    for person in (therapist_a.user, therapist_b.user, staff, bea):
        second_factor(person)
    people = [Who("anonymous", Client(), None, sees=frozenset())]
    ana_session = Client()
    ana_session.force_login(ana)
    everything = frozenset(Access)
    people += [
        Who("ana", ana_session, ana, sees=everything),
        Who("ana (token)", Client(HTTP_AUTHORIZATION=f"Token {ana_token}"), ana, token=True, sees=everything),
    ]
    bea_session = Client()
    _mfa_session(bea_session, bea)
    people += [
        Who("another member", bea_session, bea),
        Who("another member (token)", _token_client(bea), bea, token=True),
    ]
    clinical = frozenset({Access.CLINICAL})
    for name, user, sees in (
        ("ana's therapist", therapist_a.user, clinical),
        ("another therapist", therapist_b.user, frozenset()),
        ("staff", staff, frozenset({Access.CLINICAL, Access.STAFF})),
    ):
        with_mfa = Client()
        sign_in(with_mfa, user)
        people += [
            Who(name, with_mfa, user, clinician=True, sees=sees),
            Who(f"{name} (token)", _token_client(user), user, token=True, clinician=True, sees=sees),
        ]
    password_only = Client()
    password_only.force_login(therapist_a.user)
    staff_never_enrolled = Client()
    staff_never_enrolled.force_login(staff_plain)
    people += [
        Who("ana's therapist, password only", password_only, therapist_a.user, clinician=True,
            second_factor=False),
        Who("ana's therapist, token from before the second factor", old_token_therapist,
            therapist_a.user, token=True, clinician=True, second_factor=False),
        Who("staff without a second factor", staff_never_enrolled, staff_plain, clinician=True,
            second_factor=False),
        Who("staff without a second factor (token)", token_staff_plain, staff_plain, token=True,
            clinician=True, second_factor=False),
    ]  # fmt: skip

    objects = {
        User: ana,
        AuditEntry: AuditEntry.objects.filter(object_type="enrollment.reservation").first(),
        OutboxMessage: OutboxMessage.objects.first(),
        EmailAddress: EmailAddress.objects.get(user=ana),
        Therapist: therapist_a,
        Group: group_a,
        GroupSession: session,
        GroupAgreement: agreement_current(),
        Reservation: reservation,
        ResidenceAlert: residence,
        SafetyAlert: safety,
        WaitlistEntry: entry,
        Reminder: reminder,
        Payment: payment,
        Refund: refund,
        WebhookRejection: rejection,
        Role: Role.objects.get(name=THERAPIST),
        SeatReview: review,
        ScreeningFlag: screening_flag,
        ScreeningQuestion: hospital,
        ConsentVersion: consent_current(),
        TextSubscription: subscription,
        TextMessage: text,
        InboundText: inbound,
        OnCallClinician: on_call,
        SuperbillRequest: SuperbillRequest.objects.create(reservation=reservation, diagnosis_code="F43.10"),
        FeeTier: FeeTier.objects.create(group=group_a, kind="reduced", price=Decimal("50.00")),
        PromoCode: PromoCode.objects.create(code="MATRIX", percent_off=10),
        AssistanceRequest: AssistanceRequest.objects.create(
            member=ana, group=group_a, household_size=2, income="under_25k"
        ),
    }
    from allauth.mfa.models import Authenticator

    objects[Authenticator] = Authenticator.objects.filter(user=bea).first()
    return {
        "people": people,
        "objects": objects,
        "group": group_a,
        "session": session,
        "reservation": reservation,
        "entry": entry,
        "flag": flag,
        "survey": survey,
        "ana_token_id": ana_token_instance.token_key,
        "ana": ana,
        "review": review,
    }


# --- The routes


def _routes(patterns=None, prefix="", namespace=""):
    """Every route: (its pattern, its full name or "", the names of its arguments)."""
    for pattern in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}:{pattern.namespace}" if pattern.namespace else namespace
            yield from _routes(pattern.url_patterns, prefix + str(pattern.pattern), inner.strip(":"))
        elif isinstance(pattern, URLPattern):
            route = prefix + str(pattern.pattern)
            name = f"{namespace}:{pattern.name}".strip(":") if pattern.name else ""
            args = list(pattern.pattern.regex.groupindex)
            for part in re.findall(r"<(?:\w+:)?(\w+)>", prefix):
                args.append(part)
            yield route, name, sorted(set(args) | set(re.findall(r"\(\?P<(\w+)>", prefix)))


def _admin_object(name: str, objects: dict):
    for model in admin.site._registry:
        if name.startswith(f"admin:{model._meta.app_label}_{model._meta.model_name}_"):
            return objects.get(model)
    return None


def _value(arg: str, name: str, world: dict):
    reservation, entry = world["reservation"], world["entry"]
    if arg == "pk":
        if name in ("api:group-detail", "api:group-reservations", "api:group-waitlist"):
            return world["group"].pk
        if name == "api:session-attendance":
            return world["session"].pk
        if name == "api:review-decision":
            return world["review"].pk
        if name in ("billing:receipt", "billing:receipt_pdf"):
            return world["objects"][Payment].pk
        if "waitlist" in name or name in ("enrollment:offer_accept", "enrollment:offer_decline"):
            return entry.pk
        return reservation.pk
    if arg == "slug":
        return world["group"].slug
    if arg == "reservation_id":  # a superbill: Ana's seat
        return reservation.pk
    if arg == "kind":  # a receipt: Ana's payment
        return "payment"
    if arg == "token":
        if name.startswith(("attendance:join", "api:join")):
            return join_token(reservation_id=reservation.pk, session_id=world["session"].pk)
        return survey_token(world["survey"].pk)
    if arg == "token_id":
        return world["ana_token_id"]
    if arg == "room_key":  # make run's stand-in room: its way in is a signed ?t=, which nobody here has
        from attendance.video import room_name

        return room_name(world["session"])
    if arg in ("object_id", "id"):
        found = _admin_object(name, world["objects"])
        return found.pk if found is not None else world["group"].pk
    if arg == "flag_id":
        return world["flag"].pk
    if arg == "alert_id":
        return world["objects"][SafetyAlert].pk
    if arg == "version":
        return 1
    if arg == "report":
        return "groups"
    if arg == "key":
        return "not-a-real-key"
    if arg == "uidb36":
        return "1"
    if arg == "content_type_id":
        return ContentType.objects.get_for_model(Group).pk
    if arg == "app_label":
        return "enrollment"
    if arg == "url":
        return "nothing-here/"
    if arg == "model":  # an admin page from before the split: the same page, moved
        return "safetyalert"
    if arg == "rest":
        return f"{world['objects'][SafetyAlert].pk}/change/"
    raise AssertionError(f"no value for <{arg}> in {name}: teach tests/test_access_matrix.py one")


def _url(route: str, name: str, args: list[str], world: dict) -> str:
    values = {arg: _value(arg, name, world) for arg in args}
    if name:
        with contextlib.suppress(NoReverseMatch):  # else a regex route: built from its pattern
            return reverse(name, kwargs=values)
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), route)
    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: str(values[m.group(1)]), path)
    return "/" + path.replace("^", "").replace("$", "").replace("\\", "")


# --- Asking


def _ask(who: Who, method: str, url: str) -> tuple[int, str, str, bool]:
    """(status, body, Location, audited) for one request, rolled back afterwards."""
    cookies = who.client.cookies
    kept = {key: morsel.value for key, morsel in cookies.items()}
    with transaction.atomic():
        last = AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        try:
            response = (
                getattr(who.client, method)(url, content_type="application/json")
                if method in ("patch", "delete")
                else getattr(who.client, method)(url)
            )
        except Exception as exc:  # the test client raises what a 500 would hide
            transaction.set_rollback(True)
            return 500, f"{type(exc).__name__}: {exc}", "", False
        audited = who.user is not None and AuditEntry.objects.filter(pk__gt=last, actor=who.user).exists()
        transaction.set_rollback(True)
    who.client.cookies.clear()
    for key, value in kept.items():
        who.client.cookies[key] = value
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return response.status_code, body.decode(errors="replace"), response.get("Location", ""), audited


def _denied_second_factor(status: int, body: str, location: str, api: bool) -> bool:
    if api:
        return status == 403 and '"second_factor_required"' in body
    return status == 302 and location.startswith(
        ("/accounts/2fa/totp/activate/", "/accounts/2fa/reauthenticate/")
    )


def _denied_anonymous(status: int, location: str) -> bool:
    return status in (401, 403) or (status == 302 and "login" in location)


def test_every_route_for_everyone(settings):
    world = _world(settings)
    problems: list[str] = []
    unclassified: list[str] = []
    seen_by: dict[str, set[str]] = {}
    asked = 0
    for route, name, args in _routes():
        url = _url(route, name, args, world)
        match = resolve(url.split("?")[0])
        kind = access_of(match)
        label = f"{name or route} {url}"
        if kind is None:
            unclassified.append(label)
            continue
        api = url.startswith("/api/")
        for who in world["people"]:
            if who.token and not api:
                continue  # a token means nothing outside the API: the same as anonymous
            for method in API_METHODS if api else PAGE_METHODS:
                status, body, location, audited = _ask(who, method, url)
                asked += 1
                where = f"{method.upper()} {label} as {who.name}"
                if status >= 500:
                    problems.append(f"{where}: {status} {body[:200]}")
                    continue
                shows_ana = any(marker in body for marker in MARKERS)
                if shows_ana:
                    seen_by.setdefault(name or route, set()).add(who.name)
                    if kind not in who.sees:
                        problems.append(f"{where}: shows Ana's data to someone who may not see it ({kind})")
                    elif who.clinician and not audited:
                        problems.append(f"{where}: Ana's data seen by staff or a therapist, not audited")
                closed = who.clinician and not who.second_factor and kind not in BEFORE_SECOND_FACTOR
                if closed and status != 405 and not _denied_second_factor(status, body, location, api):
                    problems.append(f"{where}: {status} without a second factor ({kind})")
                private = kind in (Access.MEMBER, Access.CLINICAL, Access.STAFF)
                if who.user is None and private and status != 405 and not _denied_anonymous(status, location):
                    problems.append(f"{where}: {status} to someone not signed in ({kind})")
                if kind == Access.WEBHOOK and method == "post" and status != 400:
                    problems.append(f"{where}: an unsigned call answered {status}")
    assert unclassified == [], "classify these routes in grouport/access.py terms:\n" + "\n".join(
        unclassified
    )
    assert problems == [], f"{len(problems)} problems in {asked} requests:\n" + "\n".join(problems[:80])
    # The checks above can only pass for the right reasons if the people allowed to see Ana
    # did see her: her own pages, and her group's roster, live view and attendance.
    for route, who in (
        ("api:me", "ana"),
        ("grouport:profile", "ana"),
        ("api:session-attendance", "ana's therapist"),
        ("api:session-attendance", "ana's therapist (token)"),
        ("admin:groups_group_roster", "ana's therapist"),
        ("admin:groups_group_roster_csv", "staff"),
        ("admin:groups_groupsession_live", "staff"),
        ("admin:care_safetyalert_change", "ana's therapist"),
        ("admin:grouport_user_change", "staff"),
        # Her intake: her own pages, and her therapist's review and flag pages.
        ("intake:intake", "ana"),
        ("api:intake", "ana (token)"),
        ("api:review-list", "ana's therapist"),
        ("admin:enrollment_seatreview_change", "ana's therapist"),
        ("admin:intake_screeningflag_change", "ana's therapist"),
        ("admin:intake_screeningflag_change", "staff"),
        # Her texts and the on-call page of her alert (her phone, a tap to call).
        ("texting:texts", "ana"),
        ("api:texts", "ana (token)"),
        ("care:alert", "ana's therapist"),
        ("care:alert", "staff"),
        ("admin:texting_textsubscription_change", "staff"),
        ("admin:texting_inboundtext_change", "staff"),
    ):
        assert who in seen_by.get(route, set()), f"{who} did not see Ana on {route}: the fixture is wrong"
    assert asked > 3000
