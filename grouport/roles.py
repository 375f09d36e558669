"""The three roles and what each may do in the admin.

- member: no admin access (signs up on the site).
- therapist: a staff user linked to a Therapist; sees and changes only their own groups,
  sessions, rosters and attendance (the admin scopes every queryset, see groups/admin_scoping.py).
- staff: operations; every group, refunds, moving members, reports and the audit trail.
Superusers remain superusers. Each app says what the roles may do with its own models
(``role_permissions`` on its ``AppConfig``); ``setup_roles`` (run after every migrate) keeps
the groups' permissions exactly that.
"""

from django.apps import apps
from django.contrib.auth.models import Group as Role
from django.contrib.auth.models import Permission

from grouport.models import User

MEMBER, THERAPIST, STAFF = "member", "therapist", "staff"

ROLES = (MEMBER, THERAPIST, STAFF)


def role_permissions() -> dict[str, dict[str, tuple[str, ...]]]:
    """What each role may do, as each app declares it for its own models
    (``AppConfig.role_permissions``: role -> model name -> actions), keyed "app.model"."""
    found: dict[str, dict[str, tuple[str, ...]]] = {role: {} for role in ROLES}
    for config in apps.get_app_configs():
        for role, models in getattr(config, "role_permissions", {}).items():
            for model, actions in models.items():
                found[role][f"{config.label}.{model}"] = tuple(actions)
    return found


def roles_setup() -> dict[str, int]:
    """Create the role groups and give each exactly its permissions (idempotent)."""
    counts = {}
    for role, models in role_permissions().items():
        group, _ = Role.objects.get_or_create(name=role)
        wanted = []
        for label, actions in models.items():
            app_label, model = label.split(".")
            wanted += list(
                Permission.objects.filter(
                    content_type__app_label=app_label,
                    codename__in=[f"{action}_{model}" for action in actions],
                )
            )
        group.permissions.set(wanted)
        counts[role] = len(wanted)
    return counts


def user_has_role(user: User, role: str) -> bool:
    return user.is_authenticated and user.groups.filter(name=role).exists()


def is_operations(user: User) -> bool:
    """Staff role or superuser: sees everything."""
    return user.is_authenticated and user.is_active and (user.is_superuser or user_has_role(user, STAFF))


def role_grant(user: User, role: str) -> None:
    user.groups.add(Role.objects.get(name=role))
    if role in (THERAPIST, STAFF) and not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])


def needs_second_factor(user: User) -> bool:
    """Staff, therapists and superusers: their accounts can see members' health information."""
    return bool(user.is_authenticated and (user.is_staff or user.is_superuser))


# Set in the session when someone enrols a second factor in it (grouport/receivers.py):
# typing the first code of a new authenticator is using it.
ENROLLED_SESSION_KEY = "grouport_second_factor_enrolled"


def second_factor_passed(request) -> bool:
    """Return whether this session's sign-in used a second factor (at sign-in, or by
    enrolling one or re-entering a code since)."""
    from allauth.account.authentication import get_authentication_records

    if request.session.get(ENROLLED_SESSION_KEY) == request.user.pk:
        return True
    return any(record.get("method") == "mfa" for record in get_authentication_records(request, request.user))
