"""Billing's answers to enrollment's events, inside the event's transaction."""

from django.dispatch import receiver

from billing.services import payments_follow_move
from enrollment.signals import reservation_moved


@receiver(reservation_moved, dispatch_uid="billing.reservation_moved")
def on_reservation_moved(sender, *, old, new, **kwargs) -> int:
    # The money paid follows the member to the new seat.
    return payments_follow_move(old=old, new=new)
