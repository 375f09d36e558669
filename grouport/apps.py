from django.apps import AppConfig


class GrouportConfig(AppConfig):
    name = "grouport"
    verbose_name = "People and audit"
    # What the roles may do with this app's models (grouport.roles gathers every app's).
    role_permissions = {
        "staff": {"user": ("view", "change"), "auditentry": ("view",), "outboxmessage": ("view", "change")},
    }

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        # Register the outbox's delivery task in every process (the web queues it by name).
        from grouport import (  # noqa: F401
            openapi,  # the API token's scheme in the OpenAPI schema
            receivers,  # account events
            tasks,  # outbox delivery
        )

        # After each app migrates (its permissions exist only then), so the last one completes it.
        post_migrate.connect(_setup_roles, dispatch_uid="grouport.setup_roles")


def _setup_roles(sender, **kwargs) -> None:
    # After every migrate (tests included): roles come from code, never from clicking.
    from grouport.roles import roles_setup

    roles_setup()
