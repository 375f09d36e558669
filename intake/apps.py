from django.apps import AppConfig


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
