from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("demos", "0010_transfer_runs"),
    ]

    operations = [
        migrations.AddField(
            model_name="demorun",
            name="count_low",
            field=models.PositiveIntegerField(
                blank=True, null=True, verbose_name="sure count"
            ),
        ),
        migrations.AddField(
            model_name="demorun",
            name="count_high",
            field=models.PositiveIntegerField(
                blank=True, null=True, verbose_name="count with the unsure"
            ),
        ),
        migrations.AddField(
            model_name="demorun",
            name="truth_boxes",
            field=models.JSONField(
                blank=True, null=True, verbose_name="corrected boxes"
            ),
        ),
        migrations.AddField(
            model_name="detection",
            name="is_unsure",
            field=models.BooleanField(
                default=False,
                help_text="Scored between the detector's maybe and sure cut-offs.",
                verbose_name="unsure",
            ),
        ),
    ]
