"""Changes to the catalog: saving a group keeps its modules and weekly sessions in step;
a group's status and a session's cancellation move through their transition maps."""

import logging
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from grouport.audit import audit_record
from grouport.models import User
from grouport.transitions import transition
from groups.lock_objects import lock_group, lock_session, lock_sessions
from groups.models import MODULE_ORDER, Group, GroupModule, GroupSession
from groups.schedule import weekly_sessions
from groups.signals import session_cancelled

logger = logging.getLogger(__name__)


def group_set_modules(*, group: Group, modules: Iterable[str]) -> list[str]:
    """Make ``modules`` the DBT modules ``group`` covers; return them in teaching order."""
    wanted = sorted(set(modules), key=MODULE_ORDER.__getitem__)
    with transaction.atomic():
        GroupModule.objects.filter(group=group).exclude(module__in=wanted).delete()
        existing = set(GroupModule.objects.filter(group=group).values_list("module", flat=True))
        GroupModule.objects.bulk_create(
            [GroupModule(group=group, module=m) for m in wanted if m not in existing]
        )
    return wanted


def group_modules(*, group: Group) -> list[str]:
    """Return the modules ``group`` covers, in teaching order."""
    codes = [link.module for link in group.module_links.all()]
    return sorted(codes, key=MODULE_ORDER.__getitem__)


def group_sessions_sync(*, group: Group) -> None:
    """Create, move or drop ``group``'s sessions so they match its weekly schedule.

    Sessions that have already started are history (attendance hangs off them) and are
    left as they are, and so is one whose join links are already open (members may be
    checking in); later ones follow the schedule.
    """
    now = timezone.now()
    slots = weekly_sessions(
        first_on=group.first_session_on,
        start_time=group.start_time,
        time_zone=group.time_zone,
        duration_minutes=group.duration_minutes,
        weeks=group.weeks,
        modules=group_modules(group=group),
    )
    with transaction.atomic():
        existing = {s.number: s for s in lock_sessions(GroupSession.objects.filter(group=group))}
        to_create, to_update = [], []
        for slot in slots:
            session = existing.pop(slot.number, None)
            if session is None:
                to_create.append(
                    GroupSession(
                        group=group,
                        number=slot.number,
                        starts_at=slot.starts_at,
                        ends_at=slot.ends_at,
                        module=slot.module,
                    )
                )
            elif session.join_opens_at > now and (
                (session.starts_at, session.ends_at, session.module)
                != (slot.starts_at, slot.ends_at, slot.module)
            ):
                if (session.starts_at, session.ends_at) != (slot.starts_at, slot.ends_at):
                    session.sequence += 1  # calendars must take the new time
                session.starts_at, session.ends_at, session.module = (
                    slot.starts_at,
                    slot.ends_at,
                    slot.module,
                )
                to_update.append(session)
        GroupSession.objects.bulk_create(to_create)
        GroupSession.objects.bulk_update(to_update, ["starts_at", "ends_at", "module", "sequence"])
        # Weeks dropped from the program: remove the ones still in the future.
        GroupSession.objects.filter(
            pk__in=[s.pk for s in existing.values() if s.join_opens_at > now]
        ).delete()
        last = group.sessions.aggregate(last=Max("starts_at"))["last"]
        if group.last_session_at != last:
            group.last_session_at = last
            Group.objects.filter(pk=group.pk).update(last_session_at=last)
    logger.info("group %s sessions synced: %d created, %d moved", group.pk, len(to_create), len(to_update))


def group_save(
    *, group: Group, modules: Iterable[str] | None = None, actor: User | None = None, sync: bool = True
) -> Group:
    """Save ``group`` (validated), its modules, and bring its sessions in line with it.

    A change of status goes through the group's transition map (a published group never
    goes back to draft) and is audited; ``sync=False`` leaves modules and sessions to the
    caller (the admin saves them after its inlines).
    """
    group.full_clean()
    with transaction.atomic():
        wanted = group.status
        stored = (
            lock_group(group.pk, fields=("id", "status")).status
            if group.pk and Group.objects.filter(pk=group.pk).exists()
            else None
        )
        if stored is not None and stored != wanted:
            # Everything but the status as given; then the status, from where it stands,
            # through its map.
            group.save(
                update_fields=[f.name for f in Group._meta.concrete_fields if f.name not in ("id", "status")]
            )
            group.refresh_from_db(fields=["status"])
            transition(group, to=wanted, actor=actor)
        else:
            group.save()
        if modules is not None:
            group_set_modules(group=group, modules=modules)
        if sync:
            group_sessions_sync(group=group)
    return group


def session_cancel(*, session: GroupSession, actor: User | None, note: str = "") -> GroupSession:
    """Cancel one session. Cancelling twice is a no-op; members are told by enrollment,
    which hears ``session_cancelled`` inside this transaction."""
    now = timezone.now()
    with transaction.atomic():
        session = lock_session(session.pk)
        if session.status == GroupSession.Status.CANCELLED:
            return session
        session.sequence += 1  # calendars that have it must take the cancellation
        fields: tuple[str, ...] = ("sequence",)
        if note:
            session.note = note
            fields = ("sequence", "note")
        transition(
            session,
            to=GroupSession.Status.CANCELLED,
            actor=actor,
            fields=fields,
            data={"group": session.group_id},
        )
        session_cancelled.send(sender=GroupSession, session=session, actor=actor, now=now)
    logger.info("session %s cancelled", session.pk)
    return session


def session_note_set(*, session: GroupSession, note: str, actor: User, request=None) -> GroupSession:
    """Set the note members see for one session."""
    with transaction.atomic():
        GroupSession.objects.filter(pk=session.pk).update(note=note)
        session.note = note
        audit_record(
            actor=actor, action="session.note", obj=session, data={"group": session.group_id}, request=request
        )
    return session
