"""The event relay (core.events, docs/events.md) every 5 seconds, as a Celery beat
schedule editable in the admin. Created only if absent."""

import json

from django.db import migrations

RELAY_EVENTS = "Relay the event outbox (every 5 seconds)"


def create_schedule(apps, schema_editor):
    db = schema_editor.connection.alias
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every, _ = IntervalSchedule.objects.using(db).get_or_create(every=5, period="seconds")
    PeriodicTask.objects.using(db).get_or_create(
        name=RELAY_EVENTS,
        defaults={
            "task": "core.tasks.relay_events",
            "kwargs": json.dumps({}),
            "interval": every,
        },
    )


def remove_schedule(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.using(schema_editor.connection.alias).filter(name=RELAY_EVENTS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0010_events_outbox"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
