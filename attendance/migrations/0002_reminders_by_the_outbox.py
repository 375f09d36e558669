"""Reminders are delivered by the outbox: each claimed reminder has an outbox message.

On upgrade, a reminder claimed and not yet sent gets its message (its session still ahead;
one for a session already started is skipped, as its send would have been); one left
"sending" by a worker that died is failed, as the old stuck-send job would have marked it:
never sent twice. The per-reminder try count goes: the outbox counts tries now.
"""

from django.db import migrations, models
from django.utils import timezone


def reminders_into_the_outbox(apps, schema_editor):
    Reminder = apps.get_model("attendance", "Reminder")
    OutboxMessage = apps.get_model("grouport", "OutboxMessage")
    now = timezone.now()
    Reminder.objects.filter(status="sending").update(
        status="failed", last_error="worker stopped while sending", updated_at=now
    )
    pending = Reminder.objects.filter(status="pending")
    pending.filter(session__starts_at__lte=now).exclude(kind="cancelled").update(status="skipped", updated_at=now)
    taken = set(OutboxMessage.objects.filter(key__startswith="reminder-").values_list("key", flat=True))
    OutboxMessage.objects.bulk_create(
        [
            OutboxMessage(
                kind="attendance.reminder",
                payload={"reminder": pk},
                key=f"reminder-{pk}",
                available_at=now,
                created_at=now,
            )
            for pk in Reminder.objects.filter(status="pending").values_list("pk", flat=True)
            if f"reminder-{pk}" not in taken
        ]
    )


def reminders_out_of_the_outbox(apps, schema_editor):
    """Back to the old machine: the old job queues a send for every claim still pending."""
    OutboxMessage = apps.get_model("grouport", "OutboxMessage")
    OutboxMessage.objects.filter(kind="attendance.reminder", status="pending").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("attendance", "0001_initial"),
        ("grouport", "0004_user_language_any_time_zone"),
    ]

    operations = [
        migrations.RunPython(reminders_into_the_outbox, reminders_out_of_the_outbox),
        migrations.RemoveField(
            model_name="reminder",
            name="attempts",
        ),
        migrations.AlterField(
            model_name="reminder",
            name="status",
            field=models.CharField(
                choices=[
                    ("pending", "Waiting to be sent"),
                    ("sent", "Sent"),
                    ("failed", "Failed (staff should look)"),
                    ("skipped", "Not needed any more"),
                ],
                default="pending",
                max_length=10,
            ),
        ),
    ]
