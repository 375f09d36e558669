"""Each measure carries its own reliable-change threshold (it was one setting for all,
OUTCOME_RELIABLE_CHANGE, which a measure a clinic added could not have). The standard
measures already stored get the values that setting had (PHQ-9 6, GAD-7 4); a measure
added by a clinic starts with none, and the figures say so until someone sets it."""

from django.db import migrations, models

THRESHOLDS = {"PHQ-9": 6, "GAD-7": 4}  # what OUTCOME_RELIABLE_CHANGE said


def thresholds_onto_measures(apps, schema_editor):
    Measure = apps.get_model("care", "Measure")
    for code, points in THRESHOLDS.items():
        Measure.objects.filter(code=code, reliable_change__isnull=True).update(reliable_change=points)


class Migration(migrations.Migration):
    dependencies = [
        ("care", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="measure",
            name="reliable_change",
            field=models.PositiveSmallIntegerField(
                blank=True,
                help_text=(
                    "A change of at least this many points from the start of a program to its end counts "
                    "as reliable (improved, or got worse) in the outcome figures. Empty: the figures say "
                    "none is set."
                ),
                null=True,
            ),
        ),
        migrations.RunPython(thresholds_onto_measures, migrations.RunPython.noop),
    ]
