"""Alerts opened before the on-call pager existed were carried by email (to the therapist and
the on-call address) under the rules of their day: their escalation steps are recorded as
done, so the first run of the escalation job after an upgrade does not ring the on-call at
night for an alert of last week. They stay on the roster until reviewed, as before."""

import datetime as dt

from django.db import migrations
from django.utils import timezone


def alerts_already_carried(apps, schema_editor) -> None:
    """Reviewed alerts, and open ones older than an hour. One opened in the last hour (the
    deploy came right after it) is left to the pager: its first run pages it."""
    alert_model = apps.get_model("care", "SafetyAlert")
    step_model = apps.get_model("care", "AlertStep")
    recent = timezone.now() - dt.timedelta(hours=1)
    carried = alert_model.objects.exclude(status="open", created_at__gte=recent)
    steps = [
        step_model(alert_id=alert_id, step=step, at=created_at)
        for alert_id, created_at in carried.values_list("pk", "created_at")
        for step in (0, 1, 2)
    ]
    step_model.objects.bulk_create(steps, ignore_conflicts=True, batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [("care", "0003_safetyalert_acknowledged_at_and_more")]

    operations = [migrations.RunPython(alerts_already_carried, migrations.RunPython.noop)]
