from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("calls", "0004_call_manager_time_outcome"),
    ]

    operations = [
        migrations.AddField(
            model_name="call",
            name="next_call_time",
            field=models.TimeField(blank=True, null=True, verbose_name="next call at"),
        ),
        migrations.AddField(
            model_name="call",
            name="promised_to_buy",
            field=models.BooleanField(default=False, verbose_name="promised to buy"),
        ),
    ]
