"""The monthly patient statements schedule (1st of the month, 06:00), editable in the
admin (Periodic tasks); created only if absent."""

import json

from django.conf import settings
from django.db import migrations

NAME = "Patient statements (monthly)"
TASK = "hme.tasks.patient_statements"


def create_schedule(apps, schema_editor):
    db = schema_editor.connection.alias
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    crontab, _ = CrontabSchedule.objects.using(db).get_or_create(
        minute="0",
        hour="6",
        day_of_week="*",
        day_of_month="1",
        month_of_year="*",
        timezone=settings.TIME_ZONE,
    )
    PeriodicTask.objects.using(db).get_or_create(
        name=NAME, defaults={"task": TASK, "crontab": crontab, "kwargs": json.dumps({})}
    )


def remove_schedule(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.using(schema_editor.connection.alias).filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("hme", "0007_remittance"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
