"""The refresh of the dashboards' stored figures every 15 minutes, editable afterwards
in the admin.

Created only if absent, so an operator's changes survive re-running migrations.
"""

import json

from django.conf import settings
from django.db import migrations

NAME = "Refresh dashboard figures (every 15 minutes)"
TASK = "cockpit.tasks.refresh_dashboard_snapshots"


def create_schedule(apps, schema_editor):
    db = schema_editor.connection.alias
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    # On the quarter hours, so the "as of" a dashboard shows is easy to read.
    crontab, _ = CrontabSchedule.objects.using(db).get_or_create(
        minute="*/15",
        hour="*",
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
        ("cockpit", "0001_dashboard_snapshot"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
