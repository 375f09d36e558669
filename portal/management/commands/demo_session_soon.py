"""Move one of the demo member's sessions to start in a few minutes, to try joining it.

Development and demos only: the join link opens 15 minutes before a session, so with the
demo data (sessions on their weekly days) there is rarely one to try. This moves the next
session of the demo member's first confirmed group to start soon.
"""

import datetime as dt

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from enrollment.models import Reservation
from groups.models import GroupSession
from portal.management.commands.seed_demo import MEMBER_EMAIL


class Command(BaseCommand):
    help = "Move the demo member's next session to start in a few minutes (not in production)."

    def add_arguments(self, parser):
        parser.add_argument("--minutes", type=int, default=5, help="Start this many minutes from now.")
        parser.add_argument("--email", default=MEMBER_EMAIL, help="Whose group (default: the demo member).")

    def handle(self, *args, **options) -> None:
        if settings.PRODUCTION:
            raise CommandError(
                "demo_session_soon moves real sessions; it does not run with DJANGO_ENV=production."
            )
        reservation = (
            Reservation.objects.filter(member__email=options["email"], status=Reservation.Status.CONFIRMED)
            .select_related("group")
            .order_by("pk")
            .first()
        )
        if reservation is None:
            raise CommandError(
                f"{options['email']} has no confirmed seat yet: sign in and reserve one (the free skills "
                "group is quickest), then run this again."
            )
        now = timezone.now()
        session = (
            GroupSession.objects.filter(
                group=reservation.group, status=GroupSession.Status.SCHEDULED, ends_at__gt=now
            )
            .order_by("starts_at")
            .first()
        )
        if session is None:
            raise CommandError("That group has no sessions left.")
        starts = now + dt.timedelta(minutes=options["minutes"])
        length = session.ends_at - session.starts_at
        GroupSession.objects.filter(pk=session.pk).update(starts_at=starts, ends_at=starts + length)
        self.stdout.write(
            f"Week {session.number} of group {reservation.group.pk} now starts at {starts:%H:%M} UTC: "
            f"sign in as {options['email']} and open My groups."
        )
