from django.apps import AppConfig
from django.db.models.signals import post_migrate


class EnrollmentConfig(AppConfig):
    name = "enrollment"
    verbose_name = "Enrollment"
    role_permissions = {
        "therapist": {
            "attendance": ("view", "add", "change"),
            "residencealert": ("view", "change"),
            "safetyalert": ("view", "change"),
        },
        "staff": {
            "reservation": ("view", "change"),
            "waitlistentry": ("view",),
            "attendance": ("view", "add", "change"),
            "reminder": ("view",),
            "residencealert": ("view", "change"),
            "safetyalert": ("view", "change"),
            "groupagreement": ("view", "add"),
        },
    }

    def ready(self) -> None:
        # Fill in the port groups' catalog asks for, and hear what the layers below announce.
        from enrollment import (
            outbox,  # noqa: F401  (registers the outbox handlers)
            receivers,  # noqa: F401
            tasks,  # noqa: F401  (queued by name from the web, e.g. a session's notices)
        )
        from enrollment.selectors import seats_taken_subquery
        from groups.ports import seats_taken_provide

        seats_taken_provide(seats_taken_subquery)
        post_migrate.connect(_measures_install, sender=self)
        # A database migrated or emptied (flush emits post_migrate too): the cached agreement
        # may name a row that is gone.
        post_migrate.connect(_agreement_forget, sender=self)


def _agreement_forget(sender, **kwargs) -> None:
    from enrollment.selectors import agreement_forget

    agreement_forget()


def _measures_install(sender, using="default", apps=None, **kwargs) -> None:
    """After migrate (and a test database flush): the standard questionnaires are there."""
    from enrollment.measures import measures_install

    models = apps if apps is not None else sender.apps
    try:
        measure, item = (
            models.get_model("enrollment", "Measure"),
            models.get_model("enrollment", "MeasureItem"),
        )
    except LookupError:  # migrating backwards past the outcomes tables
        return
    measures_install(measure, item, using=using)
