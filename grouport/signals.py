"""Events the accounts layer emits for the layers above it to act on.

They are sent inside the transaction of the change, so what a receiver writes (an alert,
an outbox message) commits or rolls back with it. A receiver may return a list of
sentences for the member; the sender shows them.
"""

from django.dispatch import Signal

# A member's state of residence changed. Arguments: member, old_state, new_state, actor.
residence_changed = Signal()
