import django.db.models.deletion
from django.db import migrations, models


def survey_from_response(apps, schema_editor):
    SafetyAlert = apps.get_model("enrollment", "SafetyAlert")
    for alert in SafetyAlert.objects.filter(survey__isnull=True).select_related("response"):
        alert.survey_id = alert.response.survey_id
        alert.save(update_fields=["survey"])


class Migration(migrations.Migration):
    dependencies = [
        ("enrollment", "0009_attendance_refused_check_in"),
    ]

    operations = [
        migrations.AddField(
            model_name="safetyalert",
            name="survey",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="safety_alerts",
                to="enrollment.outcomesurvey",
            ),
        ),
        migrations.RunPython(survey_from_response, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="safetyalert",
            name="survey",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="safety_alerts",
                to="enrollment.outcomesurvey",
            ),
        ),
        migrations.AlterField(
            model_name="safetyalert",
            name="response",
            field=models.OneToOneField(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="safety_alert",
                to="enrollment.measureresponse",
            ),
        ),
        migrations.AddField(
            model_name="safetyalert",
            name="safety_answers",
            field=models.JSONField(
                blank=True, default=dict, help_text="The safety question's answer, by measure and item."
            ),
        ),
    ]
