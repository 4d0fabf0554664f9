from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("demos", "0008_quiz_answers_and_exercise_attempts"),
    ]

    operations = [
        migrations.AddField(
            model_name="demorun",
            name="stored_bytes",
            field=models.PositiveBigIntegerField(default=0, verbose_name="stored bytes"),
        ),
    ]
