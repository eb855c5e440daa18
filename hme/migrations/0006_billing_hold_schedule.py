"""The daily refresh of the stored billing holds, editable afterwards in the admin.

Created only if absent, so an operator's changes survive re-running migrations.
"""

import json

from django.conf import settings
from django.db import migrations

NAME = "Refresh billing holds (daily)"
TASK = "hme.tasks.refresh_billing_holds"


def create_schedule(apps, schema_editor):
    db = schema_editor.connection.alias
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    # After coverage status and authorization expiry (03:30, 03:45), before billing (04:00).
    crontab, _ = CrontabSchedule.objects.using(db).get_or_create(
        minute="50",
        hour="3",
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
        ("hme", "0005_billing_hold"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
