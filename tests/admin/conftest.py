import pytest

from enrollment.services.reservations import reservation_confirm, reservation_hold
from grouport.roles import STAFF, THERAPIST, role_grant
from tests.enrollment.conftest import ALL_TRUE
from tests.factories import GroupFactory, UserFactory, licensed_therapist, member


def seat(group, **who):
    person = member(**who)
    return reservation_confirm(
        reservation=reservation_hold(member=person, group=group, attestations=ALL_TRUE), actor=person
    )


@pytest.fixture
def clinic(db):
    """Two therapists with a group each, members in both, and a staff user."""
    a, b = licensed_therapist("NY"), licensed_therapist("NY")
    role_grant(a.user, THERAPIST)
    role_grant(b.user, THERAPIST)
    group_a = GroupFactory(title="Alpha group", therapist=a)
    group_b = GroupFactory(title="Bravo group", therapist=b)
    seat(group_a, first_name="Ana", last_name="Alpha")
    seat(group_b, first_name="Bea", last_name="Bravo-Secret")
    staff = UserFactory(email="ops@example.test")
    role_grant(staff, STAFF)
    return {"a": a, "b": b, "group_a": group_a, "group_b": group_b, "staff": staff}
