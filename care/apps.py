from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CareConfig(AppConfig):
    """Care: outcome questionnaires (PHQ-9, GAD-7) and the safety net under their answers."""

    name = "care"
    verbose_name = "Care and outcomes"
    role_permissions = {
        # Superbills: the group's therapist gives the diagnosis code (their groups only).
        "therapist": {"safetyalert": ("view", "change"), "superbillrequest": ("view", "change")},
        "staff": {
            "safetyalert": ("view", "change"),
            "superbillrequest": ("view", "change"),
            # The questionnaires as data: staff add measures and versions, set thresholds.
            "measure": ("view", "add", "change"),
            "measureitem": ("view", "add", "change", "delete"),
            # The on-call rota, kept by staff.
            "oncallclinician": ("view", "add", "change"),
            "oncallshift": ("view", "add", "change", "delete"),
        },
    }

    def ready(self) -> None:
        from care import (  # noqa: F401
            outbox,  # registers the outbox handlers
            tasks,  # the questionnaires' periodic job
        )
        from care.oncall import alert_reply
        from texting.ports import inbound_reply_provide

        inbound_reply_provide(alert_reply)  # a paged clinician's reply with an alert's code
        post_migrate.connect(_measures_install, sender=self)


def _measures_install(sender, using="default", apps=None, **kwargs) -> None:
    """After migrate (and a test database flush): the standard questionnaires are there."""
    from care.measures import measures_install

    models = apps if apps is not None else sender.apps
    try:
        measure, item = models.get_model("care", "Measure"), models.get_model("care", "MeasureItem")
    except LookupError:  # migrating backwards past the split
        return
    measures_install(measure, item, using=using)
