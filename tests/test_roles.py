"""The roles come from code: ``setup_roles`` gives each exactly what its apps declare, every time."""

from io import StringIO

import pytest
from django.contrib.auth.models import Group as Role
from django.contrib.auth.models import Permission
from django.core.management import call_command

from grouport.roles import MEMBER, ROLES, STAFF, THERAPIST, role_grant, role_permissions
from tests.factories import member

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]


def declared(role: str) -> set[str]:
    """The permissions ``role`` is declared to have, as "app.action_model"."""
    return {
        f"{label.split('.')[0]}.{action}_{label.split('.')[1]}"
        for label, actions in role_permissions()[role].items()
        for action in actions
    }


def granted(role: str) -> set[str]:
    return {
        f"{app}.{codename}"
        for app, codename in Role.objects.get(name=role).permissions.values_list(
            "content_type__app_label", "codename"
        )
    }


def setup_roles() -> str:
    out = StringIO()
    call_command("setup_roles", stdout=out)
    return out.getvalue()


def test_every_declared_permission_exists():
    # A misspelt model or action would otherwise be skipped without a word, and a role
    # would quietly lack something its app says it may do.
    existing = {
        f"{app}.{codename}"
        for app, codename in Permission.objects.values_list("content_type__app_label", "codename")
    }
    for role in ROLES:
        assert declared(role) <= existing, (role, declared(role) - existing)


def test_each_role_gets_exactly_what_its_apps_declare_and_says_how_many():
    Role.objects.all().delete()
    out = setup_roles()
    for role in ROLES:
        assert granted(role) == declared(role), role
    assert out.strip() == ", ".join(f"{role}: {len(declared(role))} permissions" for role in ROLES)
    assert granted(MEMBER) == set()  # members never reach the admin
    assert "grouport.view_auditentry" in granted(STAFF) and "grouport.view_auditentry" not in granted(
        THERAPIST
    )
    assert not any(p.split(".")[1].startswith("delete_") for p in granted(THERAPIST))


def test_running_it_again_puts_a_hand_edited_role_back_and_keeps_its_people():
    setup_roles()
    staff_role = Role.objects.get(name=STAFF)
    nurse = member()
    role_grant(nurse, STAFF)
    # Someone clicked in the admin: a permission no app declares added, a declared one removed.
    staff_role.permissions.add(Permission.objects.get(codename="delete_auditentry"))
    staff_role.permissions.remove(Permission.objects.get(codename="change_payment"))
    first = setup_roles()
    assert granted(STAFF) == declared(STAFF)
    assert setup_roles() == first  # and again: nothing moves
    assert {role: granted(role) for role in ROLES} == {role: declared(role) for role in ROLES}
    assert Role.objects.filter(name__in=ROLES).count() == len(ROLES)
    assert list(nurse.groups.values_list("name", flat=True)) == [STAFF]
    nurse = type(nurse).objects.get(pk=nurse.pk)  # permissions are cached on the instance
    assert nurse.has_perm("billing.change_payment") and not nurse.has_perm("grouport.delete_auditentry")
