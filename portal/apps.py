from django.apps import AppConfig


class PortalConfig(AppConfig):
    """The pages that put the parts together: a member's "My groups", a clinician's roster of
    a group (seats, attendance, outcomes and alerts on one page), and the demo data."""

    name = "portal"
    verbose_name = "Rosters"
