from django.apps import AppConfig


class EnrollmentConfig(AppConfig):
    name = "enrollment"
    verbose_name = "Enrollment"

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
