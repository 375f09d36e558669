from django.core.management.base import BaseCommand

from grouport.roles import roles_setup


class Command(BaseCommand):
    help = "Create the member, therapist and staff roles with their permissions (idempotent)."

    def handle(self, *args, **options) -> None:
        counts = roles_setup()
        self.stdout.write(", ".join(f"{role}: {n} permissions" for role, n in counts.items()))
