"""Each case carries a copy of its client's segment (``Case.segment``), so that my week and the
pool filter by segment on the case's own row instead of looking up every case's client.
"""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def backfill_segment(apps, schema_editor):
    """Copy every client's segment onto their cases in one UPDATE (portable SQL: a correlated
    subquery, on SQLite as on PostgreSQL)."""
    Case = apps.get_model("reactivation", "Case")
    Client = apps.get_model("clients", "Client")
    Case.objects.update(
        segment=Subquery(Client.objects.filter(pk=OuterRef("client_id")).values("segment")[:1])
    )


class Migration(migrations.Migration):
    dependencies = [
        ("clients", "0005_status_tally"),
        ("reactivation", "0007_case_last_reason"),
    ]

    operations = [
        migrations.AddField(
            model_name="case",
            name="segment",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="clients.segment",
                verbose_name="segment",
            ),
        ),
        migrations.RunPython(backfill_segment, migrations.RunPython.noop, elidable=True),
    ]
