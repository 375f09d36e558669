from celery import shared_task
from django.utils import timezone

from groups.models import Group
from groups.selectors import open_groups_q
from groups.services import group_sessions_sync


@shared_task(acks_late=True)
def sync_running_groups() -> int:
    """Bring the future sessions of every running group in line with its schedule (daily).

    Idempotent. Picks up schedule edits made outside the admin and time zone rule updates.
    """
    count = 0
    for group in Group.objects.filter(open_groups_q(timezone.now())):
        group_sessions_sync(group=group)
        count += 1
    return count
