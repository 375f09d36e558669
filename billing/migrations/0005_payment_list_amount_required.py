from django.db import migrations, models


class Migration(migrations.Migration):
    """Apart from 0004: its rows are updated first, and PostgreSQL alters a table only once
    the transaction that updated it is over."""

    dependencies = [
        ("billing", "0004_fees_and_codes"),
    ]

    operations = [
        migrations.AlterField(
            model_name="payment",
            name="list_amount",
            field=models.DecimalField(decimal_places=2, max_digits=8),
        ),
    ]
