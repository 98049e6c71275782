"""Trigram indexes for the client search box on PostgreSQL (``icontains`` is ``UPPER(x) LIKE``).

SQLite, the embedded database of small installs, scans instead: it has no such index type.
"""

from django.db import migrations

INDEXES = {
    "client_name_trgm": "UPPER(name::text) gin_trgm_ops",
    "client_email_trgm": "UPPER(email::text) gin_trgm_ops",
    "client_phone_trgm": "phone gin_trgm_ops",
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, expression in INDEXES.items():
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON clients_client USING gin ({expression})")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("clients", "0001_initial")]
    operations = [migrations.RunPython(create, drop)]
