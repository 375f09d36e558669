from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing"
    role_permissions = {
        "staff": {
            "payment": ("view", "change"),
            "refund": ("view",),
            "webhookrejection": ("view",),
            "feetier": ("view", "add", "change", "delete"),
            "promocode": ("view", "add", "change"),
            "assistancerequest": ("view", "change"),
        },
    }

    def ready(self) -> None:
        # Billing fills in seats' payment port.
        from billing import outbox  # noqa: F401  (registers the outbox handlers)
        from billing.providers import BillingPaymentPort
        from enrollment.ports import payment_port_provide

        payment_port_provide(BillingPaymentPort())
