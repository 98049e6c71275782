"""Each case carries the reason of its latest call that recorded one (``Case.last_reason``),
so that my week filters by reason on the case and its indexes instead of on every case's calls.
"""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import Exists, OuterRef, Subquery


def backfill_last_reason(apps, schema_editor):
    """Set every case's latest reason from its calls in one UPDATE (portable SQL: a correlated
    subquery, on SQLite as on PostgreSQL). "Latest" is the order of the case page and of the
    win credit: call time, then id."""
    Case = apps.get_model("reactivation", "Case")
    Call = apps.get_model("calls", "Call")
    stated = Call.objects.filter(case=OuterRef("pk"), reason__isnull=False)
    Case.objects.filter(Exists(stated)).update(
        last_reason=Subquery(stated.order_by("-called_at", "-id").values("reason")[:1])
    )


def _week_reason_index(name, *columns, **kwargs):
    return models.Index(
        models.F("assigned_to"),
        models.F("status"),
        models.F("last_reason"),
        *columns,
        condition=models.Q(("is_control", False), ("last_reason__isnull", False)),
        name=name,
        **kwargs,
    )


ABC_ORDER = (
    models.Case(
        models.When(abc_class="A", then=models.Value(0)),
        models.When(abc_class="B", then=models.Value(1)),
        models.When(abc_class="C", then=models.Value(2)),
        default=models.Value(3),
        output_field=models.IntegerField(),
    ),
    models.OrderBy(models.F("priority"), descending=True),
    models.OrderBy(models.F("potential_value"), descending=True),
    models.F("id"),
)


class Migration(migrations.Migration):
    dependencies = [
        ("calls", "0003_queue_script_language"),
        ("reactivation", "0006_queue_week_order"),
    ]

    operations = [
        migrations.AddField(
            model_name="case",
            name="last_reason",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="calls.reason",
                verbose_name="latest reason given",
            ),
        ),
        migrations.RunPython(backfill_last_reason, migrations.RunPython.noop, elidable=True),
        migrations.AddIndex(
            model_name="case",
            index=_week_reason_index(
                "case_week_reason_order", *ABC_ORDER, include=("next_call_on", "assigned_on")
            ),
        ),
        migrations.AddIndex(
            model_name="case",
            index=_week_reason_index(
                "case_week_reason_dates",
                models.F("next_call_on"),
                models.F("assigned_on"),
                *ABC_ORDER,
            ),
        ),
    ]
