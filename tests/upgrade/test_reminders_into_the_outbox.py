"""The upgrade that moved reminders onto the outbox leaves no claimed reminder waiting for
nobody: each still due gets its message, a dead send is failed (never sent twice), and a
reminder for a session already begun is skipped."""

import datetime as dt
import importlib

import pytest
import time_machine
from django.apps import apps
from django.core import mail

from attendance.models import Reminder
from grouport.models import OutboxMessage
from grouport.outbox import outbox_sweep
from tests.attendance.test_reminders import make_group, seated

migration = importlib.import_module("attendance.migrations.0002_reminders_by_the_outbox")


@pytest.mark.django_db
@pytest.mark.sqlite
def test_claims_of_the_old_machine_are_carried_on_by_the_outbox():
    group = make_group(starts_on=dt.date(2026, 3, 3), weekday=1, weeks=3)
    due, dead, late = seated(group), seated(group), seated(group)
    first, second = group.sessions.get(number=1), group.sessions.get(number=2)
    now = second.starts_at - dt.timedelta(hours=3)
    # As the old machine left them: claimed rows, no outbox message.
    Reminder.objects.bulk_create(
        [
            Reminder(session=second, reservation=due, kind="24h", status="pending"),
            Reminder(session=second, reservation=dead, kind="24h", status="sending"),
            Reminder(session=first, reservation=late, kind="1h", status="pending"),
        ]
    )
    mail.outbox = []
    with time_machine.travel(now, tick=False):
        migration.reminders_into_the_outbox(apps, None)
        migration.reminders_into_the_outbox(apps, None)  # run twice: still one message each
        statuses = dict(Reminder.objects.values_list("reservation_id", "status"))
        assert statuses == {due.pk: "pending", dead.pk: "failed", late.pk: "skipped"}
        [message] = OutboxMessage.objects.filter(kind="attendance.reminder")
        assert message.payload == {"reminder": Reminder.objects.get(reservation=due).pk}
        outbox_sweep(now=now + dt.timedelta(minutes=1))
    assert [m.to for m in mail.outbox if m.subject.startswith("Reminder")] == [[due.member.email]]
    assert Reminder.objects.get(reservation=due).status == "sent"
