"""The access log and the audit entries are partitioned by month on PostgreSQL (issue 19,
item 4): inserts, reads and admin pages work, the daily task creates the coming months
(moving rows out of the default partition), retention drops whole partitions past six
years (45 CFR 164.316(b)(2)(i)), and the migration goes both ways with every row.
SQLite stays unpartitioned."""

import datetime
from io import StringIO

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.management import CommandError, call_command
from django.db import ProgrammingError, connection
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from accounts.choices import Role
from core import partitions, rls
from core.access import append, record_access, verify_chain
from core.models import AccessLog, AccessLogChain, AuditEntry
from core.tasks import maintain_partitions
from tests.factories import LocationFactory

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
    # Partitions are bounded in UTC, the database connection's time zone.
    month = now.astimezone(UTC).date().replace(day=1)
    assert home_of(row) == partitions.partition_name("core_accesslog", month)
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


@postgresql_only
def test_the_access_log_write_lands_in_this_months_partition(company, personas):
    request = RequestFactory().get("/")
    request.user = personas[Role.CLINICIAN]
    location = LocationFactory(company=company)
    [row] = record_access(request, [location], via="page", action="view")
    month = row.timestamp.astimezone(UTC).date().replace(day=1)
    assert home_of(row) == partitions.partition_name("core_accesslog", month)
    assert AccessLog.objects.get(pk=row.pk).object_id == str(location.pk)


@postgresql_only
def test_a_partition_read_by_its_own_name_shows_the_app_role_nothing(company):
    if not rls.enabled():
        pytest.skip("row-level security is off (DATABASE_APP_ROLE unset)")
    row = access(company, timezone.now())
    name = home_of(row)
    with rls.for_company(company.pk):
        assert AccessLog.objects.filter(pk=row.pk).exists()  # the parent's policy
        with connection.cursor() as cursor:
            cursor.execute(f'SELECT count(*) FROM "{name}"')  # noqa: S608 - a name of ours
            assert cursor.fetchone()[0] == 0


@postgresql_only
def test_retention_keeps_the_rest_of_the_chain_verifiable(company):
    partitions.ensure_partitions(today=datetime.date(2026, 2, 1), ahead=1)  # Feb, Mar 2026
    content_type = ContentType.objects.get_for_model(AccessLog)
    rows = append(
        [
            AccessLog(
                timestamp=datetime.datetime(2026, month, 20, tzinfo=UTC),
                company=company,
                content_type=content_type,
                object_id=str(month),
                via="admin",
                action="view",
            )
            for month in (2, 2, 3, 3)
        ]
    )
    settle()
    assert verify_chain(company.pk) == []
    assert partitions.drop_expired_partitions(today=datetime.date(2032, 3, 15))
    head = AccessLogChain.objects.get(key=str(company.pk))
    assert (head.pruned_seq, head.pruned_hash) == (rows[1].seq, rows[1].hash)
    assert verify_chain(company.pk) == []
    # A row lost after the pruned point is still found.
    with rls.owner(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM core_accesslog WHERE id = %s", [rows[2].pk])
    [problem] = verify_chain(company.pk)
    assert problem.kind == "missing"


@postgresql_only
def test_the_migration_runs_backwards_and_forwards(company):
    row = access(company, timezone.now())
    settle()
    call_command("migrate", "core", "0013", verbosity=0)
    assert not partitions.is_partitioned("core_accesslog")
    assert not partitions.is_partitioned("core_auditentry")
    assert AccessLog.objects.filter(pk=row.pk).exists()
    call_command("migrate", "core", verbosity=0)
    assert partitions.is_partitioned("core_accesslog")
    assert AccessLog.objects.get(pk=row.pk).timestamp == row.timestamp


@pytest.mark.skipif(connection.vendor == "postgresql", reason="SQLite")
def test_sqlite_stays_unpartitioned(company):
    assert not partitions.is_partitioned("core_accesslog")
    assert partitions.ensure_partitions() == 0
    assert partitions.drop_expired_partitions() == []
    assert maintain_partitions() == {"created": 0, "dropped": 0}
    row = access(company, timezone.now())
    assert AccessLog.objects.get(pk=row.pk) == row


def test_the_command_prints_one_line(company):
    out = StringIO()
    call_command("maintain_partitions", stdout=out)
    assert out.getvalue().startswith("Partitions: ")
    assert out.getvalue().count("\n") == 1


@postgresql_only
def test_the_command_fails_in_one_line_without_the_owners_rights(company, monkeypatch):
    def refused(*args, **kwargs):
        raise ProgrammingError("must be owner of table core_accesslog\nmore")

    monkeypatch.setattr(partitions, "create_month", refused)
    with pytest.raises(CommandError, match=r"^partition upkeep failed: must be owner of table"):
        call_command("maintain_partitions", stdout=StringIO())
