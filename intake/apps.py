from django.apps import AppConfig
from django.db.models.signals import post_migrate


class IntakeConfig(AppConfig):
    """Duty of care before a therapy seat: intake, screening, telehealth consent."""

    name = "intake"
    verbose_name = "Intake and consent"
    role_permissions = {
        "therapist": {"screeningflag": ("view", "change")},
        "staff": {
            "screeningflag": ("view", "change"),
            # Screening questions and consent versions as data, written by the clinic.
            "screeningquestion": ("view", "add", "change"),
            "consentversion": ("view", "add"),
        },
    }

    def ready(self) -> None:
        from intake import outbox  # noqa: F401  (registers the outbox handler)
        from intake.selectors import CONSENT

        post_migrate.connect(_questions_install, sender=self)
        # A version saved or deleted, a database migrated or emptied: read the consent again.
        CONSENT.watch()
        post_migrate.connect(CONSENT.forget, sender=self, weak=False)


def _questions_install(sender, using="default", apps=None, **kwargs) -> None:
    """After migrate (and a test database flush): the starting screening questions are there."""
    from intake.screening_defaults import questions_install

    models = apps if apps is not None else sender.apps
    try:
        question = models.get_model("intake", "ScreeningQuestion")
    except LookupError:
        return
    questions_install(question, using=using)
