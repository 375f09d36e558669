"""Seats' answers to events from the layers below, inside the event's transaction."""

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from enrollment.models import GroupAgreement
from enrollment.selectors import agreement_forget


@receiver(post_save, sender=GroupAgreement, dispatch_uid="enrollment.agreement_saved")
@receiver(post_delete, sender=GroupAgreement, dispatch_uid="enrollment.agreement_deleted")
def on_agreement_changed(sender, **kwargs) -> None:
    # Once the change commits: a reader before that reads (and may cache) the old version
    # under the old generation; every reader after it starts the new one.
    transaction.on_commit(agreement_forget)
