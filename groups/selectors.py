"""Reads of the catalog: what a visitor may see and join, and when groups next meet."""

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Exists, F, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.utils import timezone

from grouport.models import User
from grouport.roles import is_operations
from grouport.states import TIME_ZONE_CHOICES, service_states
from groups.eligibility import (
    Decision,
    LicenseFact,
    Reason,
    group_decision,
    licensed_states,
    session_location_decision,
    state_decision,
)
from groups.models import Group, GroupModule, GroupSession, License, Therapist
from groups.ports import seats_taken_expression

# Local start times that count as each part of the day, in minutes after midnight.
TIME_OF_DAY: dict[str, tuple[int, int]] = {
    "morning": (5 * 60, 12 * 60),
    "afternoon": (12 * 60, 17 * 60),
    "evening": (17 * 60, 24 * 60),
}


def open_groups_q(now: dt.datetime, prefix: str = "") -> Q:
    """Match groups taking reservations at ``now``: published, last session still to start.

    The one statement of "open" for the catalog, reservations, the waitlist and its offers.
    """
    return Q(**{f"{prefix}status": Group.Status.PUBLISHED, f"{prefix}last_session_at__gt": now})


def group_is_open(group: Group, now: dt.datetime) -> bool:
    """Return whether ``group`` takes reservations at ``now`` (see ``open_groups_q``)."""
    return (
        group.status == Group.Status.PUBLISHED
        and group.last_session_at is not None
        and group.last_session_at > now
    )


def therapist_of(user: User) -> Therapist | None:
    """Return the Therapist a (non-staff) user is, or None."""
    if not user.is_authenticated or is_operations(user):
        return None
    return Therapist.objects.filter(user=user).first()


def groups_visible_to(user: User) -> QuerySet[Group]:
    """The groups whose members ``user`` may see: every group for staff, their own for a
    therapist, none for anyone else (the admin's scoping and the API's share this)."""
    if not user.is_authenticated:
        return Group.objects.none()
    if is_operations(user):
        return Group.objects.all()
    therapist = therapist_of(user)
    return Group.objects.filter(therapist=therapist) if therapist is not None else Group.objects.none()


def _joinable_therapy_q(state: str) -> Q:
    """Match therapy groups whose therapist holds a license for ``state`` through the end.

    An uncorrelated ``pk IN (...)``: PostgreSQL hashes it once, where a correlated EXISTS
    inside the OR below was re-run for every group (bench/catalog.py showed it growing).
    """
    licensed = Group.objects.filter(
        kind=Group.Kind.THERAPY,
        therapist__licenses__state=state,
        therapist__licenses__expires_on__gte=F("ends_on"),
    ).values("pk")
    return Q(kind=Group.Kind.THERAPY, pk__in=licensed)


def _time_of_day_q(part: str, viewer_tz: str, now: dt.datetime) -> Q:
    """Match groups whose start falls in ``part`` of the day on the viewer's clock.

    Each group's local start time is compared with the viewer's range shifted by the
    difference between the two zones today (few zones, so the query stays small).
    """
    start, end = TIME_OF_DAY[part]
    viewer_offset = now.astimezone(ZoneInfo(viewer_tz)).utcoffset()
    q = Q(pk__in=[])
    for tz, _label in TIME_ZONE_CHOICES:
        shift = int((now.astimezone(ZoneInfo(tz)).utcoffset() - viewer_offset).total_seconds() // 60)
        lo, hi = start + shift, end + shift
        for a, b in ((lo, hi),) if lo >= 0 and hi <= 1440 else _wrap(lo, hi):
            bounds = Q(time_zone=tz, start_time__gte=_minutes_to_time(a))
            if b < 1440:
                bounds &= Q(start_time__lt=_minutes_to_time(b))
            q |= bounds
    return q


def _weekday_q(weekday: int, viewer_tz: str, now: dt.datetime) -> Q:
    """Match groups that meet on ``weekday`` on the viewer's clock.

    A group on Tuesday at 9 PM Pacific meets on Wednesday in New York: its weekly slot is
    shifted by the difference between the two zones today, like the time-of-day filter.
    """
    viewer_offset = now.astimezone(ZoneInfo(viewer_tz)).utcoffset()
    q = Q(pk__in=[])
    for tz, _label in TIME_ZONE_CHOICES:
        # The viewer's clock reads the group's local minute m as m + shift.
        shift = int((viewer_offset - now.astimezone(ZoneInfo(tz)).utcoffset()).total_seconds() // 60)
        same_day = Q(time_zone=tz, weekday=weekday)
        if shift < 0:
            same_day &= Q(start_time__gte=_minutes_to_time(-shift))
            q |= Q(time_zone=tz, weekday=(weekday + 1) % 7, start_time__lt=_minutes_to_time(-shift))
        elif shift > 0:
            same_day &= Q(start_time__lt=_minutes_to_time(1440 - shift))
            q |= Q(time_zone=tz, weekday=(weekday - 1) % 7, start_time__gte=_minutes_to_time(1440 - shift))
        q |= same_day
    return q


def _wrap(lo: int, hi: int) -> list[tuple[int, int]]:
    lo, hi = lo % 1440, hi % 1440 or 1440
    return [(lo, hi)] if lo < hi else [(lo, 1440), (0, hi)]


def _minutes_to_time(minutes: int) -> dt.time:
    return dt.time(minutes // 60, minutes % 60)


def groups_with_catalog_facts(queryset: QuerySet[Group], *, now: dt.datetime) -> QuerySet[Group]:
    """Annotate the next session start and seats taken, and fetch what a card shows.

    A fixed number of queries whatever the number of groups: one for the groups, one
    each for their modules and their therapists' licenses.
    """
    next_session = (
        GroupSession.objects.filter(
            group=OuterRef("pk"), starts_at__gt=now, status=GroupSession.Status.SCHEDULED
        )
        .order_by("starts_at")
        .values("starts_at")[:1]
    )
    return (
        queryset.select_related("therapist")
        .annotate(
            next_session_at=Subquery(next_session),
            seats_taken=seats_taken_expression(now),
        )
        .annotate(seats_left=F("capacity") - F("seats_taken"))
        .prefetch_related(
            Prefetch("module_links", queryset=GroupModule.objects.order_by("pk")),
            Prefetch("therapist__licenses", queryset=License.objects.order_by("state")),
        )
    )


def group_catalog(
    *,
    state: str | None = None,
    kind: str | None = None,
    weekday: int | None = None,
    weekday_on_viewer_clock: bool = False,
    module: str | None = None,
    time_of_day: str | None = None,
    viewer_tz: str = "America/New_York",
    now: dt.datetime | None = None,
) -> QuerySet[Group]:
    """Return the published groups still to meet, filtered as a visitor asked, by start date.

    With ``state``, only groups someone living there may join: every skills group, and the
    therapy groups whose therapist is licensed there (in a service state) until the end.
    """
    now = now or timezone.now()
    qs = Group.objects.filter(open_groups_q(now))
    if kind:
        qs = qs.filter(kind=kind)
    if weekday is not None:
        # Pages ask for a day on the visitor's clock; the API for the group's own weekday.
        qs = qs.filter(_weekday_q(weekday, viewer_tz, now) if weekday_on_viewer_clock else Q(weekday=weekday))
    if module:
        qs = qs.filter(Exists(GroupModule.objects.filter(group=OuterRef("pk"), module=module)))
    if time_of_day:
        qs = qs.filter(_time_of_day_q(time_of_day, viewer_tz, now))
    if state:
        joinable = Q(kind=Group.Kind.SKILLS)
        if state_decision(state=state, service_states=service_states()).eligible:
            joinable |= _joinable_therapy_q(state)
        qs = qs.filter(joinable)
    # Ordered by stored columns only: the next-session subquery is then computed just for
    # the rows of the page shown, not for the whole catalog.
    return groups_with_catalog_facts(qs, now=now).order_by("starts_on", "start_time", "pk")


def group_public(*, now: dt.datetime | None = None) -> QuerySet[Group]:
    """Return every published group (finished ones too) with what its page shows."""
    now = now or timezone.now()
    return groups_with_catalog_facts(Group.objects.filter(status=Group.Status.PUBLISHED), now=now)


def group_license_facts(group: Group) -> list[LicenseFact]:
    return [LicenseFact(lic.state, lic.expires_on) for lic in group.therapist.licenses.all()]


def group_eligible_states(group: Group) -> list[str] | None:
    """Return the states a therapy group is open to; ``None`` for skills groups (all)."""
    if group.kind == Group.Kind.SKILLS:
        return None
    return licensed_states(
        licenses=group_license_facts(group),
        last_session_on=group.ends_on,
        service_states=service_states(),
    )


def session_location_decision_for(*, session: GroupSession, state: str) -> Decision:
    """May someone who is in ``state`` right now join ``session`` (its group's rule, its day)?"""
    group = session.group
    return session_location_decision(
        state=state,
        kind=group.kind,
        licenses=group_license_facts(group),
        session_on=timezone.localtime(session.starts_at, ZoneInfo(group.time_zone)).date(),
        service_states=service_states(),
    )


def group_decision_for(*, group: Group, state: str) -> Decision:
    return group_decision(
        state=state,
        kind=group.kind,
        licenses=group_license_facts(group),
        last_session_on=group.ends_on,
        service_states=service_states(),
    )


@dataclass
class EligibilityAnswer:
    state: str
    eligible: bool
    reasons: list[str]
    alternatives: list[Group] = field(default_factory=list)
    group: Group | None = None


def skills_alternatives(
    *, now: dt.datetime | None = None, limit: int = 6, exclude: Iterable[int] = (), age: int | None = None
) -> list[Group]:
    """Return open skills groups, soonest first, to offer anyone a therapy group cannot take
    (``exclude``: groups not to offer, such as the ones they are already in; ``age``: only
    groups meant for someone that old)."""
    groups = group_catalog(kind=Group.Kind.SKILLS, now=now).exclude(pk__in=list(exclude))
    if age is not None:
        groups = groups.filter(Q(max_age__isnull=True) | Q(max_age__gte=age), min_age__lte=age)
    return list(groups[:limit])


def eligibility_check(
    *, state: str, group: Group | None = None, now: dt.datetime | None = None
) -> EligibilityAnswer:
    """Answer whether someone living in ``state`` may join ``group`` (or any therapy group).

    With no group the question is whether any open therapy group will take them. A "no"
    comes with reasons and the skills groups open to everyone.
    """
    if group is not None:
        decision = group_decision_for(group=group, state=state)
    else:
        decision = state_decision(state=state, service_states=service_states())
        if decision.eligible and not group_catalog(state=state, kind=Group.Kind.THERAPY, now=now).exists():
            decision = Decision(False, (Reason.NO_THERAPY_GROUP,))
    return EligibilityAnswer(
        state=state,
        eligible=decision.eligible,
        reasons=decision.reason_codes,
        alternatives=[] if decision.eligible else skills_alternatives(now=now),
        group=group,
    )


def group_licenses_shown(group: Group) -> list[License]:
    """The therapist's licenses a group's page lists (state and number): the service states'
    ones valid through the group's last session, so a member can check them."""
    return [
        lic
        for lic in group.therapist.licenses.all()
        if lic.state in service_states() and lic.expires_on >= group.ends_on
    ]


def care_team_addresses(group: Group) -> list[str]:
    """Who is alerted about a member of ``group``: its therapist and the staff address."""
    addresses = [group.therapist.user.email] if group.therapist.user.email else []
    if settings.CARE_TEAM_EMAIL and settings.CARE_TEAM_EMAIL not in addresses:
        addresses.append(settings.CARE_TEAM_EMAIL)
    return addresses
