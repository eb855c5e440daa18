"""The daily refresh of the resupply worklist (05:00 in TIME_ZONE), as a Celery beat
schedule editable in the admin (Periodic tasks). Created only if absent."""

import json

from django.conf import settings
from django.db import migrations

NAME = "Refresh the resupply worklist (daily)"
TASK = "resupply.tasks.refresh_worklist"


def create_schedule(apps, schema_editor):
    db = schema_editor.connection.alias
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    crontab, _ = CrontabSchedule.objects.using(db).get_or_create(
        minute="0",
        hour="5",
        day_of_week="*",
        day_of_month="*",
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
        ("resupply", "0002_default_replacement_rules"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
