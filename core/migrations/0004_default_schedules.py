"""The default Celery beat schedules, editable afterwards in the admin (Periodic tasks).

Created only if absent, so an operator's changes survive re-running migrations.
"""

import json

from django.conf import settings
from django.db import migrations

DAILY_BACKUP = "Back up the database (daily)"
HOURLY_DATA_QUALITY = "Run the data-quality checks (hourly)"
HOURLY_IDEMPOTENCY_PRUNE = "Prune stored Idempotency-Key responses (hourly)"


def create_schedules(apps, schema_editor):
    db = schema_editor.connection.alias
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")

    nightly, _ = CrontabSchedule.objects.using(db).get_or_create(
        minute="30",
        hour="2",
        day_of_week="*",
        day_of_month="*",
        month_of_year="*",
        timezone=settings.TIME_ZONE,
    )
    hourly, _ = IntervalSchedule.objects.using(db).get_or_create(every=1, period="hours")
    defaults = [
        (DAILY_BACKUP, "core.tasks.backup_database", {"crontab": nightly}),
        (HOURLY_DATA_QUALITY, "core.tasks.run_data_quality", {"interval": hourly}),
        (HOURLY_IDEMPOTENCY_PRUNE, "core.tasks.prune_idempotency_keys", {"interval": hourly}),
    ]
    for name, task, schedule in defaults:
        PeriodicTask.objects.using(db).get_or_create(
            name=name, defaults={"task": task, "kwargs": json.dumps({}), **schedule}
        )


def remove_schedules(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.using(schema_editor.connection.alias).filter(
        name__in=[DAILY_BACKUP, HOURLY_DATA_QUALITY, HOURLY_IDEMPOTENCY_PRUNE]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0003_data_quality"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedules, remove_schedules)]
