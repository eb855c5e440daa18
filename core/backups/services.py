"""Back up, restore, verify and prune: the operations commands and tasks call."""

import getpass
import logging
import socket
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from core.choices import BackupStatus, BackupTrigger, ComplianceKind
from core.compliance import record_event
from core.context import get_actor
from core.locks import cache_lock, lock_holder
from core.models import Backup

from . import files
from .crypto import (
    BackupKey,
    EncryptingWriter,
    HashingReader,
    Header,
    configured_keys,
    decrypt_chunks,
    decrypt_payload,
    find_key,
)
from .engines import Counts, PostgreSQLEngine, SQLiteEngine, engine_for, no_progress
from .errors import (
    BackupError,
    BackupInProgress,
    BackupIntegrityError,
    DatabaseNotEmpty,
    RowCountMismatch,
)
from .files import Manifest

logger = logging.getLogger(__name__)

LOCK_NAME = "core.backups"
# Longer than any backup should take; a crashed run's lock expires by itself.
LOCK_SECONDS = 6 * 3600


@contextmanager
def readable_os_errors() -> Iterator[None]:
    """Disk full, permission denied, ...: one readable line instead of a traceback."""
    try:
        yield
    except OSError as exc:
        raise BackupError(_safe_error(exc)) from exc


@contextmanager
def exclusive(action: str) -> Iterator[None]:
    """Hold the backup lock: two backups (or a backup and a restore) never overlap."""
    with cache_lock(LOCK_NAME, LOCK_SECONDS, holder=action) as acquired:
        if not acquired:
            holder = lock_holder(LOCK_NAME) or "another run"
            raise BackupInProgress(
                f"another {holder} is running (backup lock held); try again when it has finished"
            )
        yield


def _run_by(trigger: str) -> str:
    host = socket.gethostname()
    if trigger == BackupTrigger.TASK:
        return host[:200]
    try:
        user = getpass.getuser()
    except (OSError, KeyError):
        user = "unknown"
    return f"{user}@{host}"[:200]


def _safe_error(exc: BaseException) -> str:
    """A one-line error for the Backup row: our own messages, else the exception type."""
    if isinstance(exc, BackupError):
        text = str(exc)
    elif isinstance(exc, OSError):
        text = f"{exc.strerror or type(exc).__name__}: {exc.filename or ''}".rstrip(": ")
    elif isinstance(exc, KeyboardInterrupt):
        text = "interrupted"
    else:
        first = str(exc).splitlines()[0] if str(exc) else ""
        text = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    return text[:500]


def _applied_migrations() -> dict[str, str]:
    """The last applied migration of each app (names only; tells a restore what follows)."""
    latest: dict[str, str] = {}
    for app_label, name in MigrationRecorder(connection).applied_migrations():
        if name > latest.get(app_label, ""):
            latest[app_label] = name
    return dict(sorted(latest.items()))


def _fail_interrupted_runs(now: datetime) -> None:
    """Rows left *running* by a process that died: no run lasts longer than the lock."""
    Backup.objects.filter(
        status=BackupStatus.RUNNING, started_at__lt=now - timedelta(seconds=LOCK_SECONDS)
    ).update(
        status=BackupStatus.FAILED,
        finished_at=now,
        error="interrupted: the process ended before the backup finished",
    )


def _record_backup_event(kind: str, record: Backup | None, detail: dict[str, Any]) -> None:
    """The compliance log's backup entry (45 CFR 164.308(a)(7)(ii)(A), data backup
    plan). Never allowed to hide the backup's own outcome: a failure to record is
    logged, not raised."""
    try:
        record_event(kind, target=record, detail=detail)
    except Exception:
        logger.exception("could not record the %s compliance event", kind)


# Backup ------------------------------------------------------------------------------


@dataclass
class BackupResult:
    record: Backup
    path: Path
    manifest: Manifest
    pruned: list[str] = field(default_factory=list)


def create_backup(
    *, trigger: str = BackupTrigger.COMMAND, progress: Any = no_progress, prune: bool = True
) -> BackupResult:
    """Dump, compress, encrypt and write one backup with its manifest.

    The ``Backup`` row is *running* while the work goes on, then *succeeded* or *failed*
    (with a one-line error). A failure leaves no file behind and is re-raised. After a
    success, old backups are pruned.
    """
    engine = engine_for(connection)
    with exclusive("backup"):
        now = timezone.now()
        _fail_interrupted_runs(now)
        record = Backup.objects.create(
            started_at=now,
            status=BackupStatus.RUNNING,
            vendor=engine.vendor,
            trigger=trigger,
            requested_by=get_actor(),
            run_by=_run_by(trigger),
            app_version=files.app_version(),
        )
        clock = time.monotonic()
        try:
            manifest = _write_backup(record, engine, progress)
        except BaseException as exc:
            record.status = BackupStatus.FAILED
            record.error = _safe_error(exc)
            record.finished_at = timezone.now()
            record.duration = timedelta(seconds=time.monotonic() - clock)
            try:
                record.save()
            except Exception:
                logger.exception("could not record the failure of backup %s", record.pk)
            logger.error("backup %s failed: %s", record.pk, record.error)
            _record_backup_event(ComplianceKind.BACKUP_FAILED, record, {"error": record.error})
            if isinstance(exc, OSError):
                # Disk full, permissions: an operator's problem, said in one line.
                raise BackupError(record.error) from exc
            raise
        record.status = BackupStatus.SUCCEEDED
        record.finished_at = timezone.now()
        record.duration = timedelta(seconds=time.monotonic() - clock)
        record.file_name = manifest["file"]
        record.size_bytes = manifest["size"]
        record.sha256 = manifest["sha256"]
        record.row_count = manifest["total_rows"]
        record.table_count = len(manifest["row_counts"])
        record.key_fingerprint = manifest["encryption"]["key_fingerprint"]
        record.save()
        logger.info(
            "backup %s written: %s (%d bytes, %.1f s)",
            record.pk,
            record.file_name,
            record.size_bytes,
            record.duration.total_seconds(),
        )
        pruned = prune_backups() if prune else []
    return BackupResult(
        record=record,
        path=files.backup_dir() / manifest["file"],
        manifest=manifest,
        pruned=pruned,
    )


def _write_backup(
    record: Backup, engine: SQLiteEngine | PostgreSQLEngine, progress: Any
) -> Manifest:
    key = configured_keys()[0]
    directory = files.backup_dir()
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise BackupError(f"cannot create BACKUP_DIR {directory}: {exc.strerror or exc}") from None
    name = files.backup_name(engine.vendor, record.pk, record.started_at)
    data = files.StagedFile(directory / f"{name}{files.DATA_SUFFIX}")
    manifest_file = files.StagedFile(directory / f"{name}{files.MANIFEST_SUFFIX}")
    committed = False
    try:
        try:
            handle = data.open()
        except OSError as exc:
            raise BackupError(f"cannot write to BACKUP_DIR {directory}: {exc.strerror}") from None
        with handle:
            writer = EncryptingWriter(
                handle,
                key,
                payload=engine.payload,
                backup_id=record.pk,
                compress=engine.compress,
            )
            counts = engine.dump(writer, progress)
            writer.close()
            data.flush(handle)
        manifest = {
            "format": files.MANIFEST_FORMAT,
            "format_version": files.MANIFEST_VERSION,
            "backup_id": str(record.pk),
            "file": data.path.name,
            "started_at": record.started_at.astimezone(UTC).isoformat(),
            "created_at": datetime.now(UTC).isoformat(),
            "database": {
                "vendor": engine.vendor,
                "name": engine.database_label(),
                "tool": engine.tool_version(),
                "migrations": _applied_migrations(),
            },
            "app_version": record.app_version,
            "size": writer.size,
            "sha256": writer.sha256.hexdigest(),
            "payload_size": writer.payload_size,
            "encryption": {
                "cipher": "AES-256-GCM, STREAM chunks, HKDF-SHA256 per-file key",
                "key_fingerprint": key.fingerprint,
                "chunk_size": writer.header.chunk_size,
                "compression": engine.compression_label,
            },
            "row_counts": dict(sorted(counts.items())),
            "total_rows": sum(counts.values()),
        }
        with manifest_file.open() as handle:
            handle.write(files.manifest_bytes(manifest))
            manifest_file.flush(handle)
        data.commit()
        committed = True
        manifest_file.commit()
    except BaseException:
        data.discard()
        manifest_file.discard()
        if committed:
            data.path.unlink(missing_ok=True)
        raise
    return manifest


# Checking a file ---------------------------------------------------------------------


def check_file(
    data_path: Path, manifest: Manifest, keys: Sequence[BackupKey], progress: Any = no_progress
) -> tuple[Header, BackupKey]:
    """Checksum, header, key and every chunk's tag, in one read and before any write.

    The order of the verdicts matters to the operator: a damaged file is reported as
    a checksum mismatch even when its damage is in the header or in a tag.
    """
    data_path = Path(data_path)
    try:
        size = data_path.stat().st_size
        handle = open(data_path, "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise BackupError(f"cannot read {data_path}: {exc.strerror}") from None
    header: Header | None = None
    key: BackupKey | None = None
    problem: BackupError | None = None
    bar = progress("Checking", size)
    try:
        with handle:
            reader = HashingReader(handle, bar.update)
            try:
                header = Header.read(reader)
                key = find_key(header, keys)
                for _chunk in decrypt_chunks(reader, header, key):
                    pass
            except BackupError as exc:
                problem = exc
            reader.drain()
    finally:
        bar.close()
    expected_size, expected_sha = manifest["size"], manifest["sha256"]
    if reader.size != expected_size:
        raise BackupIntegrityError(
            f"checksum mismatch: {data_path.name} is {reader.size} bytes, its manifest says "
            f"{expected_size} (truncated or incomplete copy); it cannot be restored"
        )
    if reader.sha256.hexdigest() != expected_sha:
        raise BackupIntegrityError(
            f"checksum mismatch: the SHA-256 of {data_path.name} is not the one in its "
            "manifest (the file is corrupted); it cannot be restored"
        )
    if header is not None and str(header.backup_id) != manifest["backup_id"]:
        raise BackupIntegrityError(
            f"the manifest beside {data_path.name} belongs to another backup"
        )
    if problem is not None:
        raise problem
    # No problem means the header was read and its key found.
    assert header is not None
    assert key is not None
    return header, key


def _resolve(path: str | Path) -> tuple[Path, Manifest]:
    data_path, manifest_path = files.paths_for(path)
    if not data_path.exists():
        raise BackupError(f"backup file {data_path} not found")
    manifest = files.read_manifest(manifest_path)
    return data_path, manifest


def _check_vendor(manifest: Manifest, engine: SQLiteEngine | PostgreSQLEngine) -> None:
    vendor = manifest["database"].get("vendor")
    if vendor != engine.vendor:
        raise BackupError(
            f"this is a backup of a {vendor} database; the configured database is {engine.vendor}"
        )


def compare_counts(expected: Counts, found: Counts) -> list[tuple[str, int, int | None]]:
    """The tables whose row count differs, as ``[(table, expected, found)]``."""
    return [
        (table, rows, found.get(table))
        for table, rows in sorted(expected.items())
        if found.get(table) != rows
    ]


def _mismatch_error(differences: list[tuple[str, int, int | None]], where: str) -> RowCountMismatch:
    shown = ", ".join(
        f"{table} (expected {rows}, found {'no table' if got is None else got})"
        for table, rows, got in differences[:5]
    )
    more = f" and {len(differences) - 5} more" if len(differences) > 5 else ""
    return RowCountMismatch(
        f"row counts {where} differ from the manifest in {len(differences)} "
        f"table(s): {shown}{more}",
        tables=[table for table, _rows, _got in differences],
    )


def _payload_stream(
    data_path: Path, header: Header, key: BackupKey, progress: Any, description: str
) -> Iterator[bytes]:
    """The decrypted payload, read again (each chunk authenticated again on the way)."""
    size = data_path.stat().st_size
    bar = progress(description, size)
    try:
        with open(data_path, "rb") as handle:
            reader = HashingReader(handle, bar.update)
            Header.read(reader)
            yield from decrypt_payload(reader, header, key)
    finally:
        bar.close()


# Restore -----------------------------------------------------------------------------


@dataclass
class RestoreResult:
    manifest: Manifest
    counts: Counts
    duration: float
    pending_migrations: int = 0
    extra_tables: list[str] = field(default_factory=list)

    @property
    def total_rows(self) -> int:
        return sum(self.counts.get(table, 0) for table in self.manifest["row_counts"])


def restore_backup(
    path: str | Path, *, force: bool = False, progress: Any = no_progress
) -> RestoreResult:
    """Replace the configured database with a backup, then prove the row counts match.

    Refused before anything is written when the checksum, the key or any chunk fails,
    or when the database holds data and ``force`` is not set.
    """
    clock = time.monotonic()
    data_path, manifest = _resolve(path)
    engine = engine_for(connection)
    _check_vendor(manifest, engine)
    keys = configured_keys()
    with exclusive("restore"), readable_os_errors():
        header, key = check_file(data_path, manifest, keys, progress)
        if not force:
            occupied = engine.tables_with_rows()
            if occupied:
                shown = ", ".join(occupied[:3]) + (", ..." if len(occupied) > 3 else "")
                raise DatabaseNotEmpty(
                    f"the database is not empty ({len(occupied)} tables hold rows: {shown}); "
                    "restoring replaces everything in it: pass --force to do so"
                )
        logger.warning("restoring the database from %s", data_path.name)
        engine.restore(_payload_stream(data_path, header, key, progress, "Restoring"))
        counts = engine.live_counts()
        # Content type ids are back to the backup's: forget the ones cached before.
        ContentType.objects.clear_cache()
        differences = compare_counts(manifest["row_counts"], counts)
        if differences:
            raise _mismatch_error(differences, "after the restore")
        _mark_restored(manifest)
        result = RestoreResult(
            manifest=manifest,
            counts=counts,
            duration=time.monotonic() - clock,
            pending_migrations=_pending_migrations(),
            extra_tables=sorted(set(counts) - set(manifest["row_counts"])),
        )
    logger.warning("database restored from %s; row counts match", data_path.name)
    return result


def _mark_restored(manifest: Manifest) -> None:
    """The restored history shows this backup *running* (the dump saw it so): finish it."""
    Backup.objects.filter(pk=manifest["backup_id"], status=BackupStatus.RUNNING).update(
        status=BackupStatus.SUCCEEDED,
        finished_at=datetime.fromisoformat(manifest["created_at"]),
        file_name=manifest["file"],
        size_bytes=manifest["size"],
        sha256=manifest["sha256"],
        row_count=manifest.get("total_rows"),
        table_count=len(manifest["row_counts"]),
        key_fingerprint=manifest.get("encryption", {}).get("key_fingerprint", ""),
    )


def _pending_migrations() -> int:
    executor = MigrationExecutor(connection)
    return len(executor.migration_plan(executor.loader.graph.leaf_nodes()))


# Verify ------------------------------------------------------------------------------


@dataclass
class VerifyResult:
    manifest: Manifest
    counts: Counts
    duration: float

    @property
    def total_rows(self) -> int:
        return sum(self.counts.values())


def verify_backup(path: str | Path, *, progress: Any = no_progress) -> VerifyResult:
    """Restore a backup into a scratch database and compare its row counts; touch nothing live.

    SQLite: a temporary file; PostgreSQL: a database ``ariesone_verify_<random>`` created
    for the check and always dropped afterwards.
    """
    clock = time.monotonic()
    data_path, manifest = _resolve(path)
    engine = engine_for(connection)
    _check_vendor(manifest, engine)
    with readable_os_errors():
        header, key = check_file(data_path, manifest, configured_keys(), progress)
        payload = _payload_stream(data_path, header, key, progress, "Restoring")
        counts = engine.scratch_counts(payload)
    differences = compare_counts(manifest["row_counts"], counts)
    record = Backup.objects.filter(pk=manifest["backup_id"]).first()
    if differences:
        _record_backup_event(
            ComplianceKind.BACKUP_FAILED,
            record,
            {"verification": "row counts differ", "tables": len(differences)},
        )
        raise _mismatch_error(differences, "in the scratch database")
    Backup.objects.filter(pk=manifest["backup_id"]).update(verified_at=timezone.now())
    _record_backup_event(
        ComplianceKind.BACKUP_VERIFIED,
        record,
        {"file": manifest["file"], "rows": sum(counts.values())},
    )
    return VerifyResult(manifest=manifest, counts=counts, duration=time.monotonic() - clock)


def latest_backup() -> Path | None:
    """The path of the newest complete backup in ``BACKUP_DIR``, or None."""
    complete = [stored for stored in files.stored_backups() if stored.complete]
    return complete[-1].data_path if complete else None


# Retention ---------------------------------------------------------------------------


def prune_backups(now: datetime | None = None) -> list[str]:
    """Delete backups older than ``BACKUP_RETENTION_DAYS``, never the newest complete one.

    Files are found from their manifests on disk (the database may itself have been
    restored from an older backup); the matching ``Backup`` rows become *pruned* and
    stay as history. Temporary files left by a killed run are removed too.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.BACKUP_RETENTION_DAYS)
    stored = files.stored_backups()
    complete = [entry for entry in stored if entry.complete]
    newest = complete[-1] if complete else None
    pruned = []
    for entry in stored:
        if entry is newest or entry.created_at >= cutoff:
            continue
        try:
            entry.data_path.unlink(missing_ok=True)
            entry.manifest_path.unlink(missing_ok=True)
        except OSError as exc:
            logger.warning("could not prune %s: %s", entry.data_path.name, exc.strerror)
            continue
        pruned.append(entry)
    if pruned:
        Backup.objects.filter(pk__in=[entry.manifest["backup_id"] for entry in pruned]).update(
            status=BackupStatus.PRUNED, pruned_at=now
        )
        logger.info("pruned %d backup(s) older than %s", len(pruned), cutoff.date())
    directory = files.backup_dir()
    if directory.is_dir():
        stale = now.timestamp() - LOCK_SECONDS
        for leftover in directory.glob(f".{files.PREFIX}*{files.PARTIAL_SUFFIX}"):
            try:
                if leftover.stat().st_mtime < stale:
                    leftover.unlink()
            except OSError:
                continue
    return [entry.data_path.name for entry in pruned]


__all__ = [
    "BackupResult",
    "RestoreResult",
    "VerifyResult",
    "check_file",
    "create_backup",
    "exclusive",
    "latest_backup",
    "prune_backups",
    "restore_backup",
    "verify_backup",
]
