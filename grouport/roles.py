"""The three roles and what each may do in the admin.

- member: no admin access (signs up on the site).
- therapist: a staff user linked to a Therapist; sees and changes only their own groups,
  sessions, rosters and attendance (the admin scopes every queryset, see groups/admin_scoping.py).
- staff: operations; every group, refunds, moving members, reports and the audit trail.
Superusers remain superusers. ``setup_roles`` (run after every migrate) keeps the groups'
permissions as written here.
"""

from django.contrib.auth.models import Group as Role
from django.contrib.auth.models import Permission

from grouport.models import User

MEMBER, THERAPIST, STAFF = "member", "therapist", "staff"

ROLE_PERMISSIONS: dict[str, dict[str, tuple[str, ...]]] = {
    MEMBER: {},
    THERAPIST: {
        "groups.group": ("view", "change"),
        "groups.groupsession": ("view", "change"),
        "enrollment.attendance": ("view", "add", "change"),
        "enrollment.residencealert": ("view", "change"),
        "enrollment.safetyalert": ("view", "change"),
    },
    STAFF: {
        "grouport.user": ("view", "change"),
        "grouport.auditentry": ("view",),
        "grouport.outboxmessage": ("view", "change"),
        "groups.therapist": ("view", "add", "change"),
        "groups.license": ("view", "add", "change", "delete"),
        "groups.group": ("view", "add", "change"),
        "groups.groupsession": ("view", "change"),
        "enrollment.reservation": ("view", "change"),
        "enrollment.waitlistentry": ("view",),
        "enrollment.attendance": ("view", "add", "change"),
        "enrollment.reminder": ("view",),
        "enrollment.residencealert": ("view", "change"),
        "enrollment.safetyalert": ("view", "change"),
        "enrollment.groupagreement": ("view", "add"),
        "billing.payment": ("view", "change"),
        "billing.refund": ("view",),
        "billing.webhookrejection": ("view",),
    },
}


def roles_setup() -> dict[str, int]:
    """Create the role groups and give each exactly its permissions (idempotent)."""
    counts = {}
    for role, models in ROLE_PERMISSIONS.items():
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
