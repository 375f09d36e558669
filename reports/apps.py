from django.apps import AppConfig


class ReportsConfig(AppConfig):
    """Staff's enrollment and outcome reports: reads over every layer below, changing nothing."""

    name = "reports"
    verbose_name = "Reports"
