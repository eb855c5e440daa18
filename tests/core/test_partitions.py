"""The access log and the audit entries are partitioned by month on PostgreSQL (issue 19,
item 4): inserts, reads and admin pages work, the daily task creates the coming months
(moving rows out of the default partition), retention drops whole partitions past six
years (45 CFR 164.316(b)(2)(i)), and the migration goes both ways with every row.
SQLite stays unpartitioned."""

import datetime

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from accounts.choices import Role
from core import partitions
from core.models import AccessLog, AuditEntry
from core.tasks import maintain_partitions

pytestmark = pytest.mark.django_db
postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="declarative partitioning is PostgreSQL's"
)
UTC = datetime.UTC


def access(company, when, object_id="42"):
    return AccessLog.objects.create(
        timestamp=when,
        company=company,
        content_type=ContentType.objects.get_for_model(AccessLog),
        object_id=object_id,
        via="admin",
        action="view",
    )


def settle():
    """Check the deferred foreign keys of the rows this test wrote now: PostgreSQL will
    not drop or alter a table with such checks pending. (The daily task and the
    migration run in transactions of their own, after the rows' own commits.)"""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def home_of(row):
    """The partition a row is stored in."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT tableoid::regclass::text FROM {row._meta.db_table} WHERE id = %s",  # noqa: S608
            [row.pk],
        )
        return cursor.fetchone()[0]


@postgresql_only
def test_both_trails_are_partitioned_with_the_timestamp_in_the_key():
    for table in partitions.PARTITIONED:
        assert partitions.is_partitioned(table)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = to_regclass(%s) AND contype = 'p'",
                [table],
            )
            assert cursor.fetchone()[0] == 'PRIMARY KEY (id, "timestamp")'


@postgresql_only
def test_rows_land_in_their_month_and_read_back_through_the_model(company):
    now = timezone.now()
    row = access(company, now)
    month = timezone.localdate().replace(day=1)
    assert home_of(row) == partitions.partition_name("core_accesslog", month.replace(day=1))
    old = access(company, datetime.datetime(2001, 1, 5, tzinfo=UTC))
    assert home_of(old) == "core_accesslog_default"
    assert AccessLog.objects.get(pk=row.pk).timestamp == row.timestamp
    entry = AuditEntry.objects.create(
        content_type=ContentType.objects.get_for_model(AccessLog),
        object_pk="1",
        object_repr="x",
        action=0,
        company=company,
    )
    assert home_of(entry).startswith("core_auditentry_p")


@postgresql_only
def test_the_admin_pages_work_on_the_partitioned_trails(client, personas, company):
    row = access(company, timezone.now())
    client.force_login(personas[Role.AUDITOR])
    page = client.get(reverse("admin:core_accesslog_changelist"))
    assert page.status_code == 200
    assert row in page.context["cl"].result_list
    assert client.get(reverse("admin:core_accesslog_change", args=[row.pk])).status_code == 200
    assert client.get(reverse("admin:core_auditentry_changelist")).status_code == 200


@postgresql_only
def test_the_daily_task_creates_months_ahead_and_moves_rows_out_of_the_default(company):
    early = access(company, datetime.datetime(2031, 5, 10, tzinfo=UTC))
    assert home_of(early) == "core_accesslog_default"
    created = partitions.ensure_partitions(today=datetime.date(2031, 4, 20), ahead=1)
    assert created == 4  # April and May 2031, for both trails
    assert home_of(AccessLog.objects.get(pk=early.pk)) == "core_accesslog_p203105"
    assert partitions.ensure_partitions(today=datetime.date(2031, 4, 20), ahead=1) == 0
    assert maintain_partitions() == {"created": 0, "dropped": 0}


@postgresql_only
def test_retention_drops_whole_partitions_past_six_years_only(company):
    today = datetime.date(2032, 3, 15)
    partitions.ensure_partitions(today=datetime.date(2026, 2, 1), ahead=1)  # Feb, Mar 2026
    expired = access(company, datetime.datetime(2026, 2, 20, tzinfo=UTC), object_id="old")
    kept = access(company, datetime.datetime(2026, 3, 20, tzinfo=UTC), object_id="kept")
    settle()
    dropped = partitions.drop_expired_partitions(today=today)
    # February 2026 ended before 15 March 2026 (six years back): dropped. March 2026
    # still holds days within the six years: kept.
    assert "core_accesslog_p202602" in dropped
    assert "core_accesslog_p202603" not in dropped
    assert not AccessLog.objects.filter(pk=expired.pk).exists()
    assert AccessLog.objects.filter(pk=kept.pk).exists()


def test_the_retention_cutoff_is_six_years_back():
    assert partitions.retention_cutoff(datetime.date(2032, 3, 15)) == datetime.date(2026, 3, 15)
    assert partitions.retention_cutoff(datetime.date(2028, 2, 29)) == datetime.date(2022, 2, 28)


@postgresql_only
def test_the_migration_goes_back_and_forth_with_every_row(company):
    rows = [access(company, timezone.now() - datetime.timedelta(days=days)) for days in (1, 40)]
    settle()
    partitions.unpartition_tables(connection, ["core_accesslog"])
    assert not partitions.is_partitioned("core_accesslog")
    assert set(AccessLog.objects.filter(company=company)) == set(rows)
    partitions.partition_tables(connection, ["core_accesslog"])
    assert partitions.is_partitioned("core_accesslog")
    assert set(AccessLog.objects.filter(company=company)) == set(rows)
    newer = access(company, timezone.now())
    assert newer.pk > max(row.pk for row in rows)


@pytest.mark.skipif(connection.vendor == "postgresql", reason="SQLite")
def test_sqlite_stays_unpartitioned(company):
    assert not partitions.is_partitioned("core_accesslog")
    assert partitions.ensure_partitions() == 0
    assert partitions.drop_expired_partitions() == []
    assert maintain_partitions() == {"created": 0, "dropped": 0}
    row = access(company, timezone.now())
    assert AccessLog.objects.get(pk=row.pk) == row
