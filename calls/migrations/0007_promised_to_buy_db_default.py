from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("calls", "0006_seed_scripts_reasons_greeting"),
    ]

    operations = [
        migrations.AlterField(
            model_name="call",
            name="promised_to_buy",
            field=models.BooleanField(
                db_default=False, default=False, verbose_name="promised to buy"
            ),
        ),
    ]
