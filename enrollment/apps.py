from django.apps import AppConfig
from django.db.models.signals import post_migrate


class EnrollmentConfig(AppConfig):
    """Seats: holds and reservations, the waitlist, the group agreement, a change of residence."""

    name = "enrollment"
    verbose_name = "Seats"
    role_permissions = {
        "therapist": {
            "residencealert": ("view", "change"),
            "seatreview": ("view", "change"),
        },
        "staff": {
            "reservation": ("view", "change"),
            "seatreview": ("view", "change"),
            "waitlistentry": ("view",),
            "residencealert": ("view", "change"),
            "groupagreement": ("view", "add"),
        },
    }

    def ready(self) -> None:
        # Fill in the ports the layers below ask through, and hear what they announce.
        from enrollment import (
            outbox,  # noqa: F401  (registers the outbox handlers)
            tasks,  # noqa: F401  (queued by name from the web, e.g. a session's notices)
        )
        from enrollment.selectors import AGREEMENT, seats_taken_subquery
        from enrollment.services.residence import residence_change_handle
        from grouport.ports import residence_change_provide
        from groups.ports import seats_taken_provide

        seats_taken_provide(seats_taken_subquery)
        residence_change_provide(residence_change_handle)
        # A version saved or deleted; a database migrated or emptied (flush emits post_migrate
        # too): the cached agreement may be stale, or name a row that is gone.
        AGREEMENT.watch()
        post_migrate.connect(AGREEMENT.forget, sender=self, weak=False)
