"""Events enrollment emits for the layers above it, sent inside the change's transaction.

A receiver's writes commit or roll back with the change. Billing subscribes (its
``apps.py``): money follows a member moved to another group.
"""

from django.dispatch import Signal

# Staff moved a confirmed seat to another group. Arguments: old, new (reservations), actor.
reservation_moved = Signal()
