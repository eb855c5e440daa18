"""Backups end to end: back up, wipe, restore, and every row and encrypted value is back.

These tests run against whichever database the suite uses (SQLite by default, PostgreSQL
with DATABASE_URL), so the round trip is proven on both; restores target the test
database only. They are transactional: a backup sees committed data, as in production.
"""

import datetime
import errno
import hashlib
import json
import os
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from accounts.choices import Role
from core.backups import (
    BackupError,
    BackupInProgress,
    create_backup,
    engines,
    files,
    prune_backups,
    services,
)
from core.backups.crypto import HEADER_SIZE, generate_key
from core.choices import BackupStatus, BackupTrigger, ComplianceKind
from core.models import Backup, ComplianceEvent
from core.tasks import backup_database
from tests.factories import LocationFactory, PHIRecordFactory, member
from tests.testapp.models import PHIRecord

pytestmark = pytest.mark.django_db(transaction=True)

NOTES = [
    "Uses CPAP nightly; AHI 32 at diagnosis.",
    'O\'Brien: "prefers" mask size M\nsecond line — ñ, 🙂, \\ and ; DROP TABLE',
    "",
]


@pytest.fixture
def backup_dir(tmp_path, settings):
    settings.BACKUP_DIR = tmp_path / "backups"
    return settings.BACKUP_DIR


@pytest.fixture
def records(company):
    """Patients with distinct encrypted values, users of every role, a location."""
    location = LocationFactory(company=company)
    for role in Role:
        member(company, role, email=f"{role.value}@backup.test")
    created = []
    for n in range(30):
        created.append(
            PHIRecordFactory(
                company=company,
                location=location if n % 2 else None,
                name=f"Patient {n:03d}",
                dob=datetime.date(1930, 1, 1) + datetime.timedelta(days=997 * n),
                mbi=f"{1 + n % 9}EG4TE5MK{n % 10}{(n * 7) % 10}",
                notes=NOTES[n % len(NOTES)],
            )
        )
    return created


def decrypted_values():
    return {
        str(record.pk): (record.name, record.dob, record.mbi, record.notes, record.location_id)
        for record in PHIRecord.objects.all()
    }


def all_rows(exclude=("core_backup",)):
    """Every row of every table, as the database returns it (ciphertext included)."""
    rows = {}
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            if table in exclude:
                continue
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            rows[table] = sorted(cursor.fetchall(), key=repr)
    return rows


def wipe():
    """Empty every table, as a lost database would be (migrate's own rows come back)."""
    call_command("flush", interactive=False, verbosity=0)


def the_backup(directory):
    (path,) = sorted(directory.glob("*.backup"))
    return path


def run(command, *args):
    out = StringIO()
    call_command(command, *args, stdout=out, stderr=StringIO())
    return out.getvalue().strip()


def manifest_of(path):
    return json.loads(files.paths_for(path)[1].read_text())


def write_manifest(path, manifest):
    files.paths_for(path)[1].write_text(json.dumps(manifest))


def flip_byte(path, offset):
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x40
    path.write_bytes(bytes(data))


# The round trip ----------------------------------------------------------------------


def test_it_restores_every_row_and_every_encrypted_value_exactly(backup_dir, records):
    rows, values = all_rows(), decrypted_values()
    assert len(values) == 30

    summary = run("backup")
    path = the_backup(backup_dir)
    assert summary.startswith(f"Backup written: {path} (")
    assert "rows in" in summary
    assert " s)" in summary

    wipe()
    assert PHIRecord.objects.count() == 0

    summary = run("restore", str(path))
    assert summary.startswith(f"Restored {path.name} (backup of ")
    assert "every count matches the manifest" in summary
    assert all_rows() == rows
    assert decrypted_values() == values
    # The restored history no longer shows the backup as running.
    record = Backup.objects.get()
    assert record.status == BackupStatus.SUCCEEDED
    assert record.file_name == path.name


def test_the_backup_is_recorded_with_its_manifest(backup_dir, records):
    result = create_backup(trigger=BackupTrigger.COMMAND)
    record = Backup.objects.get()
    manifest = manifest_of(result.path)
    assert record.status == BackupStatus.SUCCEEDED
    assert record.vendor == connection.vendor
    assert record.size_bytes == result.path.stat().st_size == manifest["size"]
    assert record.sha256 == manifest["sha256"]
    assert record.row_count == manifest["total_rows"] == sum(manifest["row_counts"].values())
    assert record.duration is not None
    assert record.finished_at >= record.started_at
    assert record.trigger == BackupTrigger.COMMAND
    assert "@" in record.run_by
    assert manifest["backup_id"] == str(record.pk)
    assert manifest["database"]["vendor"] == connection.vendor
    assert manifest["app_version"].startswith("0.")
    assert manifest["row_counts"]["testapp_phirecord"] == 30
    assert manifest["row_counts"]["accounts_user"] == len(Role)
    assert set(manifest["row_counts"]) == set(connection.introspection.table_names())
    # The name says when (UTC) and which database; the files are private.
    assert result.path.name.startswith(f"ariesone-{record.started_at:%Y%m%d}T")
    assert f"-{connection.vendor}-" in result.path.name
    assert oct(result.path.stat().st_mode & 0o777) == "0o600"


def test_no_phi_appears_in_the_file_or_its_manifest(backup_dir, records):
    result = create_backup()
    sealed = result.path.read_bytes()
    manifest = files.paths_for(result.path)[1].read_bytes()
    for secret in (b"Patient 001", b"1EG4TE5MK", b"CPAP nightly", b"O'Brien"):
        assert secret not in sealed
        assert secret not in manifest
    # Encrypted columns barely compress; the payload is still compressed and sealed.
    assert not sealed.startswith(b"SQLite format 3")
    assert not sealed[HEADER_SIZE:].startswith(b"PGDMP")


# Refusals -----------------------------------------------------------------------------


def test_a_corrupted_file_is_refused_and_nothing_is_restored(backup_dir, records):
    path = create_backup().path
    PHIRecordFactory(company=records[0].company, name="Added after the backup")
    before = all_rows()
    flip_byte(path, path.stat().st_size // 2)

    with pytest.raises(CommandError, match="checksum mismatch: the SHA-256 of"):
        run("restore", str(path), "--force")
    assert all_rows() == before


def test_a_truncated_file_is_refused(backup_dir, records):
    path = create_backup().path
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    before = all_rows()
    with pytest.raises(CommandError, match=r"checksum mismatch: .* \(truncated or incomplete"):
        run("restore", str(path), "--force")
    assert all_rows() == before


def test_a_file_tampered_with_and_its_checksum_updated_is_still_refused(backup_dir, records):
    path = create_backup().path
    flip_byte(path, HEADER_SIZE + 5)
    manifest = manifest_of(path)
    manifest["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    write_manifest(path, manifest)
    before = all_rows()
    with pytest.raises(CommandError, match="chunk 0 of the backup failed authentication"):
        run("restore", str(path), "--force")
    assert all_rows() == before


def test_a_wrong_key_is_refused_before_anything_is_written(backup_dir, records, settings):
    path = create_backup().path
    fingerprint = manifest_of(path)["encryption"]["key_fingerprint"]
    settings.BACKUP_ENCRYPTION_KEY = [generate_key()]
    before = all_rows()
    with pytest.raises(CommandError) as error:
        run("restore", str(path), "--force")
    assert f"the backup key does not match this file (key fingerprint {fingerprint};" in str(
        error.value
    )
    assert all_rows() == before
    with pytest.raises(CommandError, match="the backup key does not match this file"):
        run("verify_backup", str(path))


def test_a_rotated_key_still_opens_old_backups(backup_dir, records, settings):
    old_key = settings.BACKUP_ENCRYPTION_KEY[0]
    path = create_backup().path
    settings.BACKUP_ENCRYPTION_KEY = [generate_key(), old_key]
    assert "is good" in run("verify_backup", str(path))
    newer = create_backup().path
    assert (
        manifest_of(newer)["encryption"]["key_fingerprint"]
        != (manifest_of(path)["encryption"]["key_fingerprint"])
    )


def test_a_database_with_data_is_not_overwritten_without_force(backup_dir, records):
    path = create_backup().path
    PHIRecordFactory(company=records[0].company, name="Added after the backup")
    with pytest.raises(CommandError, match=r"the database is not empty \(\d+ tables hold rows"):
        run("restore", str(path))
    assert PHIRecord.objects.filter(name="Added after the backup").exists()

    run("restore", str(path), "--force")
    assert not PHIRecord.objects.filter(name="Added after the backup").exists()
    assert PHIRecord.objects.count() == 30


def test_a_manifest_that_disagrees_with_the_restored_rows_fails_naming_the_tables(
    backup_dir, records
):
    path = create_backup().path
    manifest = manifest_of(path)
    manifest["row_counts"]["testapp_phirecord"] += 1
    write_manifest(path, manifest)
    wipe()
    with pytest.raises(CommandError) as error:
        run("restore", str(path))
    assert "row counts after the restore differ from the manifest in 1 table(s)" in str(error.value)
    assert "testapp_phirecord (expected 31, found 30)" in str(error.value)
    with pytest.raises(CommandError, match=r"testapp_phirecord \(expected 31, found 30\)"):
        run("verify_backup", str(path))


def test_a_missing_manifest_or_another_backups_manifest_is_refused(backup_dir, records):
    first = create_backup().path
    second = create_backup().path
    files.paths_for(first)[1].replace(files.paths_for(second)[1].with_suffix(".kept"))
    with pytest.raises(CommandError, match=r"manifest .* not found next to the backup"):
        run("restore", str(first), "--force")
    other = manifest_of(second)
    other["sha256"], other["size"] = (
        hashlib.sha256(first.read_bytes()).hexdigest(),
        first.stat().st_size,
    )
    write_manifest(first, other)
    with pytest.raises(CommandError, match="belongs to another backup"):
        run("restore", str(first), "--force")


def test_a_backup_of_another_database_vendor_is_refused(backup_dir, records):
    path = create_backup().path
    manifest = manifest_of(path)
    other = "postgresql" if connection.vendor == "sqlite" else "sqlite"
    manifest["database"]["vendor"] = other
    write_manifest(path, manifest)
    with pytest.raises(CommandError, match=f"this is a backup of a {other} database"):
        run("restore", str(path), "--force")


# Verify -------------------------------------------------------------------------------


def test_verify_restores_into_a_scratch_database_and_touches_nothing_live(backup_dir, records):
    path = create_backup().path
    PHIRecordFactory(company=records[0].company, name="Added after the backup")
    before = all_rows()
    summary = run("verify_backup", str(path))
    assert summary.startswith(f"Backup {path.name} is good: checksum, key and the row counts")
    # Only the compliance log gains its "backup verified" event.
    after = all_rows()
    assert len(after.pop("core_complianceevent")) == 1
    before.pop("core_complianceevent")
    assert after == before
    assert Backup.objects.get().verified_at is not None
    assert run("verify_backup", "--latest").startswith(f"Backup {path.name} is good")
    verified = ComplianceEvent.objects.filter(kind=ComplianceKind.BACKUP_VERIFIED)
    assert verified.count() == 2
    assert {event.target_id for event in verified} == {str(Backup.objects.get().pk)}


def test_verify_latest_needs_a_backup(backup_dir, db):
    with pytest.raises(CommandError, match="No complete backup found in BACKUP_DIR"):
        run("verify_backup", "--latest")
    with pytest.raises(CommandError, match="Give a backup file"):
        run("verify_backup")


# Failures -----------------------------------------------------------------------------


def test_a_failing_backup_leaves_no_file_and_records_the_failure(backup_dir, records, monkeypatch):
    real_engine_for = engines.engine_for

    class DiskFills:
        def __init__(self, engine):
            self.engine = engine

        def __getattr__(self, name):
            return getattr(self.engine, name)

        def dump(self, writer, progress):
            writer.write(os.urandom(3 << 20))  # three sealed chunks reach the disk
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(services, "engine_for", lambda conn: DiskFills(real_engine_for(conn)))
    with pytest.raises(CommandError, match="Backup failed") as error:
        run("backup")
    assert str(error.value) == "Backup failed: No space left on device"
    assert list(backup_dir.iterdir()) == []
    record = Backup.objects.get()
    assert record.status == BackupStatus.FAILED
    assert record.error == "No space left on device"
    assert record.finished_at is not None
    assert record.file_name == ""
    event = ComplianceEvent.objects.get(kind=ComplianceKind.BACKUP_FAILED)
    assert (event.target_id, event.detail) == (str(record.pk), {"error": record.error})


def test_an_unwritable_backup_dir_fails_with_a_readable_line(tmp_path, settings, records):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    settings.BACKUP_DIR = blocker / "backups"
    with pytest.raises(CommandError, match="Backup failed: cannot create BACKUP_DIR"):
        run("backup")
    record = Backup.objects.get()
    assert record.status == BackupStatus.FAILED
    assert record.error.startswith("cannot create BACKUP_DIR")


def test_the_commands_exit_non_zero_with_one_line_and_no_traceback(
    tmp_path, settings, records, capsys
):
    from core.management.commands.backup import Command as BackupCommand
    from core.management.commands.restore import Command as RestoreCommand

    blocker = tmp_path / "file"
    blocker.write_text("")
    settings.BACKUP_DIR = blocker / "backups"
    with pytest.raises(SystemExit) as exit_:
        BackupCommand().run_from_argv(["manage.py", "backup"])
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert [line for line in err.splitlines() if line.startswith("CommandError")] == [
        f"CommandError: Backup failed: cannot create BACKUP_DIR {blocker / 'backups'}: "
        "Not a directory"
    ]
    with pytest.raises(SystemExit) as exit_:
        RestoreCommand().run_from_argv(["manage.py", "restore", str(tmp_path / "nope.backup")])
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "CommandError: Restore refused or failed: backup file" in err


def test_two_backups_never_overlap(backup_dir, records):
    path = create_backup().path
    with services.exclusive("backup"):
        with pytest.raises(CommandError, match="another backup is running"):
            run("backup")
        assert backup_database() == {
            "status": "skipped",
            "reason": "another backup is running (backup lock held); try again when it has "
            "finished",
        }
        with pytest.raises(BackupInProgress):
            services.restore_backup(path, force=True)
    assert Backup.objects.count() == 1
    run("backup")  # the lock is released
    assert Backup.objects.filter(status=BackupStatus.SUCCEEDED).count() == 2


def test_a_run_left_running_by_a_dead_process_is_marked_failed(backup_dir, db):
    from django.utils import timezone

    stale = Backup.objects.create(
        started_at=timezone.now() - datetime.timedelta(days=1),
        vendor=connection.vendor,
        trigger=BackupTrigger.TASK,
    )
    create_backup()
    stale.refresh_from_db()
    assert stale.status == BackupStatus.FAILED
    assert stale.error.startswith("interrupted")


# The task -----------------------------------------------------------------------------


def test_the_task_backs_up_and_reports(backup_dir, records):
    result = backup_database()
    record = Backup.objects.get()
    assert result == {
        "status": BackupStatus.SUCCEEDED,
        "backup": str(record.pk),
        "file": record.file_name,
        "size_bytes": record.size_bytes,
        "pruned": 0,
    }
    assert record.trigger == BackupTrigger.TASK
    assert (backup_dir / record.file_name).exists()


def test_the_task_records_a_failure_and_re_raises(tmp_path, settings, records, caplog):
    blocker = tmp_path / "file"
    blocker.write_text("")
    settings.BACKUP_DIR = blocker / "backups"
    with pytest.raises(BackupError, match="cannot create BACKUP_DIR"):
        backup_database()
    record = Backup.objects.get()
    assert record.status == BackupStatus.FAILED
    assert record.trigger == BackupTrigger.TASK
    assert "scheduled backup failed" in caplog.text


# Retention ----------------------------------------------------------------------------


def age(path, days):
    """Pretend a backup was made ``days`` ago (its manifest says when)."""
    manifest = manifest_of(path)
    when = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=days)
    manifest["created_at"] = when.isoformat()
    write_manifest(path, manifest)


def test_retention_prunes_old_backups_and_keeps_their_history(backup_dir, records, settings):
    settings.BACKUP_RETENTION_DAYS = 30
    old, older, recent = (create_backup(prune=False).path for _ in range(3))
    age(old, 31)
    age(older, 45)
    age(recent, 2)
    assert sorted(prune_backups()) == sorted([old.name, older.name])
    assert [p.name for p in backup_dir.iterdir() if p.suffix == ".backup"] == [recent.name]
    assert not files.paths_for(old)[1].exists()
    statuses = dict(Backup.objects.values_list("file_name", "status"))
    assert statuses == {
        old.name: BackupStatus.PRUNED,
        older.name: BackupStatus.PRUNED,
        recent.name: BackupStatus.SUCCEEDED,
    }
    assert Backup.objects.filter(status=BackupStatus.PRUNED, pruned_at__isnull=False).count() == 2


def test_retention_never_prunes_the_newest_good_backup(backup_dir, records, settings):
    settings.BACKUP_RETENTION_DAYS = 30
    good, incomplete = (create_backup(prune=False).path for _ in range(2))
    age(good, 90)
    age(incomplete, 60)
    # The newest one lost its data: the older complete one is the newest good one.
    incomplete.write_bytes(incomplete.read_bytes()[:100])
    assert prune_backups() == [incomplete.name]
    assert good.exists()


def test_each_backup_prunes_and_says_so(backup_dir, records, settings):
    settings.BACKUP_RETENTION_DAYS = 30
    old = create_backup(prune=False).path
    age(old, 40)
    summary = run("backup")
    assert summary.endswith("; pruned 1 old backup(s).")
    assert not old.exists()


def test_retention_removes_leftovers_of_killed_runs(backup_dir, db):
    backup_dir.mkdir(parents=True)
    leftover = backup_dir / ".ariesone-20260101T000000Z-sqlite-0123abcd.backup.1a2b3c4d.partial"
    leftover.write_bytes(b"half a backup")
    fresh = backup_dir / ".ariesone-20260102T000000Z-sqlite-0123abcd.backup.5e6f7a8b.partial"
    fresh.write_bytes(b"a backup being written right now")
    os.utime(leftover, (0, 0))
    prune_backups()
    assert not leftover.exists()
    assert fresh.exists()


# PostgreSQL specifics -----------------------------------------------------------------


def scratch_databases():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s",
            [f"{engines.SCRATCH_PREFIX}%"],
        )
        return {row[0] for row in cursor.fetchall()}


def test_verify_drops_its_scratch_database(postgres_only, backup_dir, records):
    before = scratch_databases()
    path = create_backup().path
    run("verify_backup", str(path))
    assert scratch_databases() == before
    manifest = manifest_of(path)
    manifest["row_counts"]["testapp_phirecord"] = 0
    write_manifest(path, manifest)
    with pytest.raises(CommandError):
        run("verify_backup", str(path))
    assert scratch_databases() == before


def test_a_missing_pg_dump_fails_cleanly(postgres_only, backup_dir, records, tmp_path, monkeypatch):
    files.app_version()  # cached before PATH loses git too
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(CommandError, match="pg_dump was not found on PATH"):
        run("backup")
    assert not list(backup_dir.glob("*"))
    assert not list(backup_dir.glob(".*"))
    assert Backup.objects.get().status == BackupStatus.FAILED


def test_a_pg_dump_older_than_the_server_is_refused(
    postgres_only, backup_dir, records, tmp_path, monkeypatch
):
    files.app_version()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "pg_dump"
    fake.write_text("#!/bin/sh\necho 'pg_dump (PostgreSQL) 9.6.24'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(CommandError, match=r"pg_dump 9\.6 is older than the PostgreSQL \d+ server"):
        run("backup")


def test_pg_dump_counts_match_the_snapshot_it_dumps(postgres_only, backup_dir, records):
    # The counts are taken in pg_dump's own snapshot: a restore compares them exactly.
    path = create_backup().path
    wipe()
    run("restore", str(path))
    assert PHIRecord.objects.count() == 30


# Partitioned trails (core.partitions) ---------------------------------------------------


def partitions_of(table):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass(%s) ORDER BY 1",
            [table],
        )
        return [row[0] for row in cursor.fetchall()]


def test_a_partitioned_database_restores_over_itself_as_it_was(postgres_only, backup_dir, records):
    from core import partitions

    assert partitions.is_partitioned("core_accesslog")
    before = partitions_of("core_accesslog")
    rows = all_rows()
    path = create_backup().path
    # After the backup: a partition the backup does not have, rows in the trails.
    partitions.ensure_partitions(today=datetime.date(2031, 4, 1), ahead=0)
    assert "core_accesslog_p203104" in partitions_of("core_accesslog")
    PHIRecordFactory(company=records[0].company, name="Added after the backup")

    run("restore", str(path), "--force")
    assert partitions.is_partitioned("core_accesslog")
    assert partitions.is_partitioned("core_auditentry")
    assert partitions_of("core_accesslog") == before
    assert all_rows() == rows


def test_a_restore_that_fails_midway_changes_nothing(postgres_only, backup_dir, records):
    path = create_backup().path
    PHIRecordFactory(company=records[0].company, name="Added after the backup")
    rows = all_rows()
    # Someone's view on a table the backup holds: its DROP fails after the partitioned
    # trails and other tables were dropped in the same transaction.
    with connection.cursor() as cursor:
        cursor.execute("CREATE VIEW report_access AS SELECT id FROM testapp_phirecord")
    try:
        with pytest.raises(CommandError, match=r"psql failed: .*cannot drop table"):
            run("restore", str(path), "--force")
        assert all_rows() == rows
        assert PHIRecord.objects.filter(name="Added after the backup").exists()
        assert partitions_of("core_accesslog")
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP VIEW report_access")


def test_psql_errors_withhold_the_value_they_quote():
    class Handle:
        def __init__(self, text):
            self.text = text.encode()

        def seek(self, offset):
            pass

        def read(self):
            return self.text

    text = engines.PostgreSQLEngine._error_text(
        "psql",
        Handle(
            'psql:<stdin>:120: ERROR:  invalid input syntax for type date: "1950-13-40"\n'
            "psql:<stdin>:120: CONTEXT:  COPY testapp_phirecord, line 3, column dob\n"
        ),
        3,
    )
    assert "1950-13-40" not in text
    assert "COPY testapp_phirecord" not in text
    assert text == (
        "psql failed: psql:<stdin>:120: ERROR:  invalid input syntax for type date: "
        "(value withheld: it may be row data)"
    )
