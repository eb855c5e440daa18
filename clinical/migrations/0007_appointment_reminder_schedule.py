"""The 24-hour appointment reminders (core.notifications), hourly, as a Celery beat
schedule editable in the admin (Periodic tasks). Created only if absent."""

import json

from django.db import migrations

NAME = "Send appointment reminders (hourly)"
TASK = "clinical.tasks.send_appointment_reminders"


def create_schedule(apps, schema_editor):
    db = schema_editor.connection.alias
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    interval, _ = IntervalSchedule.objects.using(db).get_or_create(every=1, period="hours")
    PeriodicTask.objects.using(db).get_or_create(
        name=NAME, defaults={"task": TASK, "interval": interval, "kwargs": json.dumps({})}
    )


def remove_schedule(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.using(schema_editor.connection.alias).filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("clinical", "0006_patient_notification_preferences"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
