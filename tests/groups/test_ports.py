"""The catalog's port for seats taken: enrollment's rule, or a clear refusal without it."""

import datetime as dt

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from enrollment.selectors import group_seats_taken
from enrollment.services.reservations import reservation_confirm, reservation_hold
from groups import ports
from groups.models import Group
from tests.factories import ALL_TRUE, GroupFactory, licensed_therapist, member

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]


def test_the_catalog_counts_seats_by_enrollments_rule(monkeypatch):
    group = GroupFactory(capacity=5, therapist=licensed_therapist("NY"))
    confirmed = member()
    reservation_confirm(
        reservation=reservation_hold(member=confirmed, group=group, attestations=ALL_TRUE), actor=confirmed
    )
    reservation_hold(member=member(), group=group, attestations=ALL_TRUE)  # a hold still running
    later = timezone.now() + dt.timedelta(hours=1)  # the hold has lapsed by then
    for now, taken in ((timezone.now(), 2), (later, 1)):
        counted = Group.objects.annotate(taken=ports.seats_taken_expression(now)).get(pk=group.pk).taken
        assert counted == taken == group_seats_taken(group=group, now=now)


def test_without_enrollment_the_catalog_refuses_to_guess_seats(monkeypatch):
    # No rule installed (enrollment not loaded): an error naming what is missing, never a
    # catalog that shows every group as empty.
    monkeypatch.setattr(ports, "_seats_taken", None)
    with pytest.raises(ImproperlyConfigured, match="is enrollment installed"):
        ports.seats_taken_expression(timezone.now())
