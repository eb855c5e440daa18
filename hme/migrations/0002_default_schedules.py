"""The daily billing schedules, editable afterwards in the admin (Periodic tasks).

Created only if absent, so an operator's changes survive re-running migrations.
"""

import json

from django.conf import settings
from django.db import migrations

SCHEDULES = [
    # (name, task, hour, minute): after the nightly backup (02:30).
    ("Refresh coverage status (daily)", "hme.tasks.refresh_coverage_status", "3", "30"),
    ("Expire prior authorizations (daily)", "hme.tasks.expire_authorizations", "3", "45"),
    ("Bill rental months (daily)", "hme.tasks.bill_rental_months", "4", "0"),
]


def create_schedules(apps, schema_editor):
    db = schema_editor.connection.alias
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task, hour, minute in SCHEDULES:
        crontab, _ = CrontabSchedule.objects.using(db).get_or_create(
            minute=minute,
            hour=hour,
            day_of_week="*",
            day_of_month="*",
            month_of_year="*",
            timezone=settings.TIME_ZONE,
        )
        PeriodicTask.objects.using(db).get_or_create(
            name=name, defaults={"task": task, "crontab": crontab, "kwargs": json.dumps({})}
        )


def remove_schedules(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.using(schema_editor.connection.alias).filter(
        name__in=[name for name, *_ in SCHEDULES]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("hme", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedules, remove_schedules)]
