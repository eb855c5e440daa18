"""The EDI exchange schedule (send created 837P batches, fetch 999/277CA): every 15
minutes, editable afterwards in the admin (Periodic tasks). Created only if absent."""

import json

from django.db import migrations

NAME = "Exchange EDI files with the clearinghouse (every 15 minutes)"
TASK = "hme.tasks.exchange_edi"


def create_schedule(apps, schema_editor):
    db = schema_editor.connection.alias
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    interval, _ = IntervalSchedule.objects.using(db).get_or_create(every=15, period="minutes")
    PeriodicTask.objects.using(db).get_or_create(
        name=NAME, defaults={"task": TASK, "interval": interval, "kwargs": json.dumps({})}
    )


def remove_schedule(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.using(schema_editor.connection.alias).filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("hme", "0005_edi_batches"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
