import pytest

from grouport.roles import STAFF, THERAPIST, role_grant
from tests.factories import GroupFactory, UserFactory, licensed_therapist, seated


@pytest.fixture
def clinic(db):
    """Two therapists with a group each, members in both, and a staff user."""
    a, b = licensed_therapist("NY"), licensed_therapist("NY")
    role_grant(a.user, THERAPIST)
    role_grant(b.user, THERAPIST)
    group_a = GroupFactory(title="Alpha group", therapist=a)
    group_b = GroupFactory(title="Bravo group", therapist=b)
    seated(group_a, at=None, first_name="Ana", last_name="Alpha")
    seated(group_b, at=None, first_name="Bea", last_name="Bravo-Secret")
    staff = UserFactory(email="ops@example.test")
    role_grant(staff, STAFF)
    return {"a": a, "b": b, "group_a": group_a, "group_b": group_b, "staff": staff}
