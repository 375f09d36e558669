from django.apps import AppConfig


class TextingConfig(AppConfig):
    """Texts: a member's opt-in, STOP/START/HELP, the provider (Twilio, or the console)."""

    name = "texting"
    verbose_name = "Texts"
    role_permissions = {
        "therapist": {},
        "staff": {
            "textsubscription": ("view",),
            "textmessage": ("view",),
            "inboundtext": ("view", "change"),
        },
    }

    def ready(self) -> None:
        from texting import outbox  # noqa: F401  (registers the outbox handlers)
