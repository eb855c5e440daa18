"""On PostgreSQL, the access log and the audit entries become tables partitioned by
month on their timestamp (core.partitions; docs/scaling.md, "Data at scale"): every row
is copied into the partitioned table, whose primary key is (id, timestamp) while Django
keeps ``id`` as the model's. Backwards, each becomes one plain table again with every
row. SQLite: nothing changes. Also the daily schedule that creates the coming months'
partitions and drops those past the 6-year retention (45 CFR 164.316(b)(2)(i)), and the
chain head's pruned point (the last access-log row such a drop took: the verifier
starts after it)."""

import json

from django.conf import settings
from django.db import migrations, models

TABLES = ["core_accesslog", "core_auditentry"]
DAILY_PARTITIONS = "Create the trails' coming partitions, drop expired ones (daily)"


def partition(apps, schema_editor):
    from core.partitions import partition_tables

    partition_tables(schema_editor.connection, TABLES)


def unpartition(apps, schema_editor):
    from core.partitions import unpartition_tables

    unpartition_tables(schema_editor.connection, TABLES)


def create_schedule(apps, schema_editor):
    db = schema_editor.connection.alias
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    nightly, _ = CrontabSchedule.objects.using(db).get_or_create(
        minute="30",
        hour="3",
        day_of_week="*",
        day_of_month="*",
        month_of_year="*",
        timezone=settings.TIME_ZONE,
    )
    PeriodicTask.objects.using(db).get_or_create(
        name=DAILY_PARTITIONS,
        defaults={
            "task": "core.tasks.maintain_partitions",
            "kwargs": json.dumps({}),
            "crontab": nightly,
        },
    )


def remove_schedule(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.using(schema_editor.connection.alias).filter(
        name=DAILY_PARTITIONS
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0013_merge_dq_notifications_trails"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.AddField(
            model_name="accesslogchain",
            name="pruned_seq",
            field=models.BigIntegerField(
                db_default=0, default=0, verbose_name="dropped through sequence"
            ),
        ),
        migrations.AddField(
            model_name="accesslogchain",
            name="pruned_hash",
            field=models.CharField(
                blank=True,
                db_default="",
                default="",
                max_length=64,
                verbose_name="hash of the last row dropped",
            ),
        ),
        migrations.RunPython(partition, unpartition),
        migrations.RunPython(create_schedule, remove_schedule),
    ]
