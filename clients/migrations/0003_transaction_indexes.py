"""Three of the transaction table's eight indexes go: every import paid for them, nothing read them.

- ``client_id`` alone: the (client, date) index serves every lookup by client;
- ``identity varchar_pattern_ops`` (added by ``unique=True`` for LIKE queries, which nothing
  runs): the identity stays unique through the same constraint, now declared in Meta under the
  name PostgreSQL gave it, so no index is rebuilt;
- ``import_job_id``: nothing reads transactions by import job.
"""

import django.db.models.deletion
from django.db import migrations, models


def _like_index(schema_editor) -> str:
    return schema_editor._create_index_name("clients_transaction", ["identity"], suffix="_like")


def drop_like_index(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"DROP INDEX IF EXISTS {schema_editor.quote_name(_like_index(schema_editor))}"
        )


def create_like_index(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        name = schema_editor.quote_name(_like_index(schema_editor))
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON clients_transaction (identity varchar_pattern_ops)"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("clients", "0002_search_indexes"),
    ]

    operations = [
        migrations.AlterField(
            model_name="transaction",
            name="client",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="transactions",
                to="clients.client",
                verbose_name="client",
            ),
        ),
        migrations.AlterField(
            model_name="transaction",
            name="import_job",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="clients.importjob",
            ),
        ),
        # The unique constraint itself stays as it is in the database; only its declaration moves.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="transaction",
                    name="identity",
                    field=models.CharField(max_length=200, verbose_name="identity"),
                ),
                migrations.AddConstraint(
                    model_name="transaction",
                    constraint=models.UniqueConstraint(
                        fields=("identity",), name="clients_transaction_identity_key"
                    ),
                ),
            ],
            database_operations=[
                migrations.RunPython(drop_like_index, create_like_index, elidable=False),
            ],
        ),
    ]
