"""The daily purge of compliance events past their retention (45 CFR 164.316(b)(2)(i)),
as a Celery beat schedule editable in the admin. Created only if absent."""

import json

from django.conf import settings
from django.db import migrations

DAILY_COMPLIANCE_PURGE = "Purge compliance events past their retention (daily)"


def create_schedule(apps, schema_editor):
    db = schema_editor.connection.alias
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    nightly, _ = CrontabSchedule.objects.using(db).get_or_create(
        minute="15",
        hour="3",
        day_of_week="*",
        day_of_month="*",
        month_of_year="*",
        timezone=settings.TIME_ZONE,
    )
    PeriodicTask.objects.using(db).get_or_create(
        name=DAILY_COMPLIANCE_PURGE,
        defaults={
            "task": "core.tasks.purge_compliance_events",
            "kwargs": json.dumps({}),
            "crontab": nightly,
        },
    )


def remove_schedule(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.using(schema_editor.connection.alias).filter(
        name=DAILY_COMPLIANCE_PURGE
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0008_seal_access_log"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
