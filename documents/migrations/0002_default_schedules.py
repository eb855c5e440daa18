"""The fax inbox schedule (every 5 minutes), editable afterwards in the admin
(Periodic tasks). Created only if absent, so an operator's changes survive."""

import json

from django.db import migrations

NAME = "Process the fax inbox (every 5 minutes)"
TASK = "documents.tasks.process_fax_inbox"


def create_schedule(apps, schema_editor):
    db = schema_editor.connection.alias
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    interval, _ = IntervalSchedule.objects.using(db).get_or_create(every=5, period="minutes")
    PeriodicTask.objects.using(db).get_or_create(
        name=NAME, defaults={"task": TASK, "interval": interval, "kwargs": json.dumps({})}
    )


def remove_schedule(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.using(schema_editor.connection.alias).filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("documents", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
