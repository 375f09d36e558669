"""Enrollment's answers to events from the layers below, inside the event's transaction."""

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from enrollment.models import GroupAgreement
from enrollment.selectors import agreement_forget
from enrollment.services.reminders import session_cancelled_notify
from enrollment.services.residence import residence_change_handle
from grouport.signals import residence_changed
from groups.signals import session_cancelled


@receiver(residence_changed, dispatch_uid="enrollment.residence_changed")
def on_residence_changed(sender, *, member, old_state, new_state, actor, **kwargs) -> list[str]:
    return residence_change_handle(member=member, old_state=old_state, new_state=new_state, actor=actor)


@receiver(post_save, sender=GroupAgreement, dispatch_uid="enrollment.agreement_saved")
@receiver(post_delete, sender=GroupAgreement, dispatch_uid="enrollment.agreement_deleted")
def on_agreement_changed(sender, **kwargs) -> None:
    # Once the change commits: a reader before that reads (and may cache) the old version
    # under the old generation; every reader after it starts the new one.
    transaction.on_commit(agreement_forget)


@receiver(session_cancelled, dispatch_uid="enrollment.session_cancelled")
def on_session_cancelled(sender, *, session, now, **kwargs) -> None:
    session_cancelled_notify(session=session, now=now)
