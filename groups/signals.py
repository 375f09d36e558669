"""Events the catalog emits for the layers above it, sent inside the change's transaction."""

from django.dispatch import Signal

# One session of a group was cancelled. Arguments: session, actor, now.
session_cancelled = Signal()
