"""Each case carries a copy of its client's segment (``Case.segment``), so that my week and the
pool filter by segment on the case's own row instead of looking up every case's client.

A case takes its client's segment when it opens (the gate, ``Case.save``); a trigger on the
client table moves a client's cases when its segment changes, whatever writes the table (the
ORM, an import's set-wise SQL, psql), as ``clients.0005`` keeps the statistics row's copy. It
fires only for statements that set the segment, and runs only for the rows whose segment
really changed, so an update of other columns (the weekly ABC classes of every client) costs
nothing more. A row trigger, not a statement trigger as the statistics' copy: at 1M clients,
re-segmenting 100k of them took 4.8 s with it against 2.5 s for the same update changing no
segment; a statement trigger took 4.2 s, but added 0.5 s to every update of 100k clients,
whatever its columns.
"""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery

POSTGRES_TRIGGER = """
CREATE FUNCTION reactivation_case_segment_copy() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE reactivation_case SET segment_id = NEW.segment_id WHERE client_id = NEW.id;
    RETURN NULL;
END $$;

CREATE TRIGGER case_segment_copy AFTER UPDATE OF segment_id ON clients_client
    FOR EACH ROW WHEN (OLD.segment_id IS DISTINCT FROM NEW.segment_id)
    EXECUTE FUNCTION reactivation_case_segment_copy();
"""

POSTGRES_DROP = """
DROP TRIGGER IF EXISTS case_segment_copy ON clients_client;
DROP FUNCTION IF EXISTS reactivation_case_segment_copy();
"""

SQLITE_TRIGGER = """
CREATE TRIGGER case_segment_copy AFTER UPDATE OF segment_id ON clients_client
FOR EACH ROW WHEN OLD.segment_id IS NOT NEW.segment_id
BEGIN
    UPDATE reactivation_case SET segment_id = NEW.segment_id WHERE client_id = NEW.id;
END
"""


def backfill_segment(apps, schema_editor):
    """Copy every client's segment onto their cases in one UPDATE (portable SQL: a correlated
    subquery, on SQLite as on PostgreSQL)."""
    Case = apps.get_model("reactivation", "Case")
    Client = apps.get_model("clients", "Client")
    Case.objects.update(
        segment=Subquery(Client.objects.filter(pk=OuterRef("client_id")).values("segment")[:1])
    )


def create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_TRIGGER)
    elif schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(SQLITE_TRIGGER)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_DROP)
    elif schema_editor.connection.vendor == "sqlite":
        schema_editor.execute("DROP TRIGGER IF EXISTS case_segment_copy")


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
        migrations.RunPython(create_trigger, drop_trigger),
    ]
