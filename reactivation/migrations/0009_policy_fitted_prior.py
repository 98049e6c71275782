"""A one-time buyer's cycle comes from the segment's fitted prior by default (``cycle_prior``),
the typed default cycle and prior strength stay beside it; a call's assumed extra return share
(``prior_uplift``) until the control group measures it; the fit of the clients without a segment
on the default policy; each case's P(alive) when it opened (the band its outcome counts in);
the low-value exclusion says that a call would not pay.
"""

import django.core.validators
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("reactivation", "0008_case_segment"),
    ]

    operations = [
        migrations.AddField(
            model_name="case",
            name="p_alive",
            field=models.FloatField(
                blank=True,
                help_text="The model's P(alive) on the day the case opened: the band its outcome measures.",
                null=True,
                verbose_name="P(alive) when opened",
            ),
        ),
        migrations.AddField(
            model_name="historicalcase",
            name="p_alive",
            field=models.FloatField(
                blank=True,
                help_text="The model's P(alive) on the day the case opened: the band its outcome measures.",
                null=True,
                verbose_name="P(alive) when opened",
            ),
        ),
        migrations.AddField(
            model_name="historicalpolicy",
            name="cycle_prior",
            field=models.CharField(
                choices=[("fitted", "fitted from the data"), ("typed", "typed here")],
                default="fitted",
                help_text="Fitted: the segment's fitted prior (typical gap α / r, strength r) wherever the segment has enough data for a fit, else the typed values. Typed: always the typed values.",
                max_length=6,
                verbose_name="default cycle from",
            ),
        ),
        migrations.AddField(
            model_name="historicalpolicy",
            name="model_a",
            field=models.FloatField(blank=True, null=True, verbose_name="model a"),
        ),
        migrations.AddField(
            model_name="historicalpolicy",
            name="model_alpha",
            field=models.FloatField(blank=True, null=True, verbose_name="model alpha (days)"),
        ),
        migrations.AddField(
            model_name="historicalpolicy",
            name="model_auto_refit",
            field=models.BooleanField(default=False, verbose_name="refit weekly"),
        ),
        migrations.AddField(
            model_name="historicalpolicy",
            name="model_b",
            field=models.FloatField(blank=True, null=True, verbose_name="model b"),
        ),
        migrations.AddField(
            model_name="historicalpolicy",
            name="model_clients",
            field=models.PositiveIntegerField(
                blank=True, null=True, verbose_name="clients in the fit"
            ),
        ),
        migrations.AddField(
            model_name="historicalpolicy",
            name="model_fitted_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="fitted at"),
        ),
        migrations.AddField(
            model_name="historicalpolicy",
            name="model_fitted_until",
            field=models.DateField(blank=True, null=True, verbose_name="fitted on purchases until"),
        ),
        migrations.AddField(
            model_name="historicalpolicy",
            name="model_r",
            field=models.FloatField(blank=True, null=True, verbose_name="model r"),
        ),
        migrations.AddField(
            model_name="historicalpolicy",
            name="prior_uplift",
            field=models.FloatField(
                default=0.1,
                help_text="The share of called clients who buy again because of the call, used until the control group has measured it.",
                validators=[
                    django.core.validators.MinValueValidator(0.0),
                    django.core.validators.MaxValueValidator(1.0),
                ],
                verbose_name="assumed extra return share of a call",
            ),
        ),
        migrations.AddField(
            model_name="policy",
            name="cycle_prior",
            field=models.CharField(
                choices=[("fitted", "fitted from the data"), ("typed", "typed here")],
                default="fitted",
                help_text="Fitted: the segment's fitted prior (typical gap α / r, strength r) wherever the segment has enough data for a fit, else the typed values. Typed: always the typed values.",
                max_length=6,
                verbose_name="default cycle from",
            ),
        ),
        migrations.AddField(
            model_name="policy",
            name="model_a",
            field=models.FloatField(blank=True, null=True, verbose_name="model a"),
        ),
        migrations.AddField(
            model_name="policy",
            name="model_alpha",
            field=models.FloatField(blank=True, null=True, verbose_name="model alpha (days)"),
        ),
        migrations.AddField(
            model_name="policy",
            name="model_auto_refit",
            field=models.BooleanField(default=False, verbose_name="refit weekly"),
        ),
        migrations.AddField(
            model_name="policy",
            name="model_b",
            field=models.FloatField(blank=True, null=True, verbose_name="model b"),
        ),
        migrations.AddField(
            model_name="policy",
            name="model_clients",
            field=models.PositiveIntegerField(
                blank=True, null=True, verbose_name="clients in the fit"
            ),
        ),
        migrations.AddField(
            model_name="policy",
            name="model_fitted_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="fitted at"),
        ),
        migrations.AddField(
            model_name="policy",
            name="model_fitted_until",
            field=models.DateField(blank=True, null=True, verbose_name="fitted on purchases until"),
        ),
        migrations.AddField(
            model_name="policy",
            name="model_r",
            field=models.FloatField(blank=True, null=True, verbose_name="model r"),
        ),
        migrations.AddField(
            model_name="policy",
            name="prior_uplift",
            field=models.FloatField(
                default=0.1,
                help_text="The share of called clients who buy again because of the call, used until the control group has measured it.",
                validators=[
                    django.core.validators.MinValueValidator(0.0),
                    django.core.validators.MaxValueValidator(1.0),
                ],
                verbose_name="assumed extra return share of a call",
            ),
        ),
        migrations.AlterField(
            model_name="queueexclusion",
            name="reason",
            field=models.CharField(
                choices=[
                    ("do_not_contact", "Marked do-not-contact"),
                    ("excluded_class", "ABC class kept out of the queue"),
                    ("cooldown", "A case was closed recently (cooldown)"),
                    ("open_case", "A case is already open"),
                    ("low_value", "A call is not expected to pay: value x extra return share below its cost"),
                ],
                max_length=20,
                verbose_name="reason",
            ),
        ),
    ]
