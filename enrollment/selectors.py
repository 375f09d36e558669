"""Reads about seats, reservations and waitlists."""

import datetime as dt

from django.db.models import Case, Count, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from enrollment import agreement_text
from enrollment.models import GroupAgreement, Reservation, ResidenceAlert, WaitlistEntry
from grouport.models import User
from grouport.versions import PublishedText
from groups.models import Group, GroupSession


def seats_taken_subquery(now: dt.datetime, group: str = "pk") -> Coalesce:
    """A correlated count of the seats taken in the outer query's group, for annotations:
    ``group`` names the outer field holding the group's id (``pk`` on groups)."""
    taken = (
        Reservation.objects.taking_seats(now)
        .filter(group=OuterRef(group))
        .order_by()
        .values("group")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(taken, output_field=IntegerField()), 0)


def group_seats_taken(*, group: Group, now: dt.datetime | None = None) -> int:
    return Reservation.objects.filter(group=group).seats_taken(now or timezone.now())


def waitlist_waiting(*, group: Group) -> QuerySet[WaitlistEntry]:
    """Return the members waiting for a seat in ``group``, first in line first."""
    return WaitlistEntry.objects.filter(group=group, status=WaitlistEntry.Status.WAITING).order_by(
        "created_at", "pk"
    )


def waitlist_position(*, entry: WaitlistEntry) -> int | None:
    """Return ``entry``'s place in line (1 is next), or ``None`` once it is not waiting
    (``waitlist_listed`` has it already for a list)."""
    if hasattr(entry, "position"):
        return entry.position
    if entry.status != WaitlistEntry.Status.WAITING:
        return None
    ahead = WaitlistEntry.objects.filter(group_id=entry.group_id, status=WaitlistEntry.Status.WAITING).filter(
        Q(created_at__lt=entry.created_at) | Q(created_at=entry.created_at, pk__lt=entry.pk)
    )
    return ahead.count() + 1


def member_reservations(*, member: User) -> QuerySet[Reservation]:
    return Reservation.objects.filter(member=member).select_related("group", "group__therapist")


def reservations_listed(
    queryset: QuerySet[Reservation], *, now: dt.datetime | None = None
) -> QuerySet[Reservation]:
    """``queryset`` with what a list says of each seat fetched with it, in a fixed number of
    queries however many seats: its way forward (``reservation_next_action``) reads the
    group's seats taken, its therapist's licenses and its waitlist offer."""
    now = now or timezone.now()
    return (
        queryset.select_related("group", "group__therapist", "member", "waitlist_entry")
        .prefetch_related("group__therapist__licenses")
        .annotate(group_seats_taken=seats_taken_subquery(now, group="group_id"))
    )


def member_waitlist(*, member: User) -> QuerySet[WaitlistEntry]:
    return WaitlistEntry.objects.filter(member=member).select_related("group", "offer")


def waitlist_listed(
    queryset: QuerySet[WaitlistEntry], *, now: dt.datetime | None = None
) -> QuerySet[WaitlistEntry]:
    """``queryset`` with each entry's place in line (``position``, None once not waiting) and
    its offer's way forward fetched with it: a fixed number of queries however long the list."""
    ahead = (
        WaitlistEntry.objects.filter(group=OuterRef("group_id"), status=WaitlistEntry.Status.WAITING)
        .filter(
            Q(created_at__lt=OuterRef("created_at"))
            | Q(created_at=OuterRef("created_at"), pk__lt=OuterRef("pk"))
        )
        .order_by()
        .values("group")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        queryset.select_related("group")
        .prefetch_related(Prefetch("offer", queryset=reservations_listed(Reservation.objects.all(), now=now)))
        .annotate(
            position=Case(
                When(
                    status=WaitlistEntry.Status.WAITING,
                    then=Coalesce(Subquery(ahead, output_field=IntegerField()), 0) + 1,
                ),
                default=None,
                output_field=IntegerField(),
            )
        )
    )


def member_upcoming_sessions(*, member: User, now: dt.datetime | None = None) -> QuerySet[GroupSession]:
    """Return the sessions still to come of the groups where ``member`` has a confirmed seat."""
    now = now or timezone.now()
    return (
        GroupSession.objects.filter(
            group__reservations__member=member,
            group__reservations__status=Reservation.Status.CONFIRMED,
            ends_at__gt=now,
        )
        .select_related("group")
        .order_by("starts_at")
    )


def member_open_alerts(*, member: User) -> set[int]:
    """Return the ids of ``member``'s reservations flagged for review after a change of state."""
    return set(
        ResidenceAlert.objects.filter(
            reservation__member=member, status=ResidenceAlert.Status.OPEN
        ).values_list("reservation_id", flat=True)
    )


AGREEMENT = PublishedText(
    name="agreement",
    model=GroupAgreement,
    first_version=lambda: {
        "version": agreement_text.FIRST_VERSION,
        "body": agreement_text.BODY,
        "body_es": agreement_text.BODY_ES,
    },
)


def agreement_current() -> GroupAgreement:
    """The version of the group agreement members accept today (the latest published), read
    once and cached until a version is saved or comes due (``grouport/versions.py``)."""
    return AGREEMENT.current()


def agreement_forget() -> None:
    """A version was saved (or the database migrated or emptied): the next ask reads it again."""
    AGREEMENT.forget()
