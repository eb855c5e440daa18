"""Per-database work: dump the live database, restore into it or into a scratch one, count.

- SQLite: the online backup API (``sqlite3.Connection.backup``) copies Django's own
  connection into a private temporary file, consistently even while others write; a
  restore copies a decrypted file back into Django's connection the same way.
- PostgreSQL: ``pg_dump --format=custom`` streams into the encryption layer; the row
  counts are taken inside the very snapshot pg_dump reads (``pg_export_snapshot`` and
  ``--snapshot``), so they match the dump even while the application writes. A restore
  over the live database is ``pg_restore --clean --if-exists`` turned into SQL and run
  by ``psql --single-transaction`` with ``ON_ERROR_STOP``, after one statement of ours
  in the same transaction that drops the live partitioned tables (core.partitions):
  pg_restore's clean step would drop each partition's inherited primary key on its own,
  which PostgreSQL refuses ("cannot drop inherited constraint"), while a dropped parent
  takes its partitions with it. It ends whole or not at all. The check of a backup
  restores into an empty scratch database (no clean step: plain ``pg_restore``).

pg_dump's own compression is kept (the payload is not compressed again): it compresses
table data in the pg_dump process, on another core, while this process encrypts; a
second zlib pass over compressed data gains nothing and costs CPU. The decrypted
payload stays a standard custom-format archive that ``pg_restore -l`` can read.

Connection parameters reach pg_dump/pg_restore through the environment (PGHOST,
PGPASSWORD, ...), never on their command line, where ``ps`` would show them.
"""

import os
import re
import secrets
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Any, Protocol

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.postgresql.client import DatabaseClient

from .crypto import CHUNK_SIZE, Payload
from .errors import BackupError, BackupIntegrityError

Counts = dict[str, int]


class Bar(Protocol):
    def update(self, n: int) -> object: ...
    def close(self) -> object: ...


class Writer(Protocol):
    def write(self, data: bytes) -> int: ...


# Tables ``migrate`` fills by itself: rows there do not make a database "non-empty".
# core_backup is the history of backups: not business data either.
SCAFFOLD_TABLES = frozenset(
    {
        "django_migrations",
        "django_content_type",
        "auth_permission",
        "auth_group",
        "auth_group_permissions",
        "core_backup",
    }
)
SCRATCH_PREFIX = "ariesone_verify_"
_SCRATCH_NAME = re.compile(rf"^{SCRATCH_PREFIX}[0-9a-f]{{12}}$")
# Lines of pg_dump/pg_restore errors that quote row data (never shown: PHI).
_DETAIL_LINE = re.compile(r"^\s*(DETAIL|CONTEXT|LINE \d+|HINT|QUERY):")
_COPY_FAILURE = re.compile(r'(COPY failed for table "[^"]*").*')
# psql starts its lines with "psql:<stdin>:LINE: ".
_PSQL_PREFIX = re.compile(r"^psql:[^:]*:\d+:\s*")
# psql's error line ends with the value it could not take ('invalid input syntax for
# type date: "..."'): row data, withheld like the lines above.
_QUOTED_VALUE = re.compile(r'(:\s+)"[^"]*"?\s*$')
# The first statement of a restore over the live database (same transaction): drop each
# top-level partitioned table of the schema, with its partitions (core.partitions). No
# CASCADE: an object of someone else's depending on one stops the restore, untouched.
DROP_PARTITIONED = (
    "DO $$DECLARE parent regclass; BEGIN "
    "FOR parent IN SELECT p.partrelid::regclass FROM pg_partitioned_table p "
    "JOIN pg_class c ON c.oid = p.partrelid "
    "WHERE c.relnamespace = current_schema()::regnamespace AND NOT c.relispartition "
    "LOOP EXECUTE format('DROP TABLE %s', parent); END LOOP; END $$"
)


class NullProgress:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def no_progress(description: str, total: int | None = None) -> Bar:
    return NullProgress()


def count_rows(wrapper: BaseDatabaseWrapper, cursor: Any) -> Counts:
    """``{table: rows}`` for every table Django's introspection sees in this database."""
    counts: Counts = {}
    for table in wrapper.introspection.table_names(cursor):
        # The name comes from the database's catalogue and is quoted.
        cursor.execute(f"SELECT COUNT(*) FROM {wrapper.ops.quote_name(table)}")  # noqa: S608
        counts[table] = cursor.fetchone()[0]
    return counts


def tables_with_rows(wrapper: BaseDatabaseWrapper) -> list[str]:
    """Tables of ours holding at least one row (those ``migrate`` fills excluded)."""
    found = []
    with wrapper.cursor() as cursor:
        for table in wrapper.introspection.table_names(cursor):
            if table in SCAFFOLD_TABLES:
                continue
            cursor.execute(f"SELECT 1 FROM {wrapper.ops.quote_name(table)} LIMIT 1")  # noqa: S608
            if cursor.fetchone() is not None:
                found.append(table)
    return found


@contextmanager
def private_tempdir() -> Iterator[Path]:
    """A directory only this user can enter (0700), removed with its content afterwards.

    Decrypted copies live here for the shortest time; it is under the system temporary
    directory (``TMPDIR``), never in ``BACKUP_DIR``, which may be remote storage.
    """
    with tempfile.TemporaryDirectory(prefix="ariesone-backup-") as name:
        yield Path(name)


def _side_connection(connection: BaseDatabaseWrapper, alias: str) -> BaseDatabaseWrapper:
    """A separate Django connection with the same settings, registered under ``alias``
    (for this thread) until ``_release``: connection_created receivers look their
    connection up by alias (django.contrib.postgres's type handlers do)."""
    wrapper = connection.copy(alias=alias)
    connections[alias] = wrapper
    return wrapper


def _release(wrapper: BaseDatabaseWrapper) -> None:
    """Close a ``_side_connection`` and forget its alias."""
    try:
        wrapper.close()
    finally:
        with suppress(AttributeError):
            del connections[wrapper.alias]


def _wrapper_for(
    connection: BaseDatabaseWrapper, name: str | Path, alias: str
) -> BaseDatabaseWrapper:
    """A separate Django connection to another database on the same server or file."""
    wrapper = _side_connection(connection, alias)
    wrapper.settings_dict["NAME"] = str(name)
    return wrapper


def engine_for(connection: Any) -> "SQLiteEngine | PostgreSQLEngine":
    if connection.vendor == "sqlite":
        return SQLiteEngine(connection)
    if connection.vendor == "postgresql":
        return PostgreSQLEngine(connection)
    raise BackupError(
        f"backups support SQLite and PostgreSQL; the configured database is {connection.vendor}"
    )


class SQLiteEngine:
    vendor = "sqlite"
    payload = Payload.SQLITE
    compress = True
    compression_label = "zlib"

    def __init__(self, connection: Any) -> None:
        self.connection = connection

    def database_label(self) -> str:
        name = str(self.connection.settings_dict["NAME"])
        return "in-memory" if self.connection.is_in_memory_db() else Path(name).name

    def tool_version(self) -> str:
        return f"SQLite {sqlite3.sqlite_version}"

    def dump(self, writer: Writer, progress: Any = no_progress) -> Counts:
        self.connection.ensure_connection()
        with private_tempdir() as directory:
            copy_path = directory / "database.sqlite3"
            target = sqlite3.connect(copy_path)
            try:
                # One step (pages=-1): a consistent copy without restarts under writers.
                self.connection.connection.backup(target)
            finally:
                target.close()
            counts = self._counts_of(copy_path)
            bar = progress("Encrypting", copy_path.stat().st_size)
            try:
                with open(copy_path, "rb") as source:
                    while data := source.read(CHUNK_SIZE):
                        writer.write(data)
                        bar.update(len(data))
            finally:
                bar.close()
        return counts

    def restore(self, payload: Iterable[bytes]) -> None:
        if self.connection.in_atomic_block:
            raise BackupError("a restore cannot run inside a database transaction")
        with private_tempdir() as directory:
            path = self._write_checked(payload, directory)
            source = sqlite3.connect(path)
            try:
                self.connection.ensure_connection()
                # Into Django's own connection: the same code for a file and for the
                # in-memory test database; the file is replaced page by page, atomically.
                source.backup(self.connection.connection)
            finally:
                source.close()

    def scratch_counts(self, payload: Iterable[bytes]) -> Counts:
        with private_tempdir() as directory:
            return self._counts_of(self._write_checked(payload, directory))

    def live_counts(self) -> Counts:
        with self.connection.cursor() as cursor:
            return count_rows(self.connection, cursor)

    def tables_with_rows(self) -> list[str]:
        return tables_with_rows(self.connection)

    def _write_checked(self, payload: Iterable[bytes], directory: Path) -> Path:
        path = directory / "restore.sqlite3"
        with open(path, "wb") as handle:
            for data in payload:
                handle.write(data)
        check = sqlite3.connect(path)
        try:
            result = check.execute("PRAGMA quick_check").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise BackupIntegrityError(
                f"the restored SQLite file is not a database: {exc}"
            ) from None
        finally:
            check.close()
        if result != "ok":
            raise BackupIntegrityError("the restored SQLite file fails SQLite's quick_check")
        return path

    def _counts_of(self, path: Path) -> Counts:
        wrapper = _wrapper_for(self.connection, path, alias="backup_scratch")
        try:
            with wrapper.cursor() as cursor:
                return count_rows(wrapper, cursor)
        finally:
            _release(wrapper)


class PostgreSQLEngine:
    vendor = "postgresql"
    payload = Payload.POSTGRESQL
    compress = False
    compression_label = "pg_dump (zlib inside the archive)"

    def __init__(self, connection: Any) -> None:
        self.connection = connection

    def database_label(self) -> str:
        return str(self.connection.settings_dict["NAME"])

    def server_major(self) -> int:
        return int(self.connection.pg_version) // 10000

    def tool_version(self) -> str:
        return f"pg_dump {self._tool_version('pg_dump')[1]}"

    # Command-line tools ------------------------------------------------------------

    def _tool(self, name: str) -> str:
        path = shutil.which(name)
        if path is None:
            raise BackupError(
                f"{name} was not found on PATH; install the PostgreSQL client tools "
                f"(version {self.server_major()} or newer)"
            )
        return path

    def _tool_version(self, name: str) -> tuple[int, str]:
        path = self._tool(name)
        try:
            output = subprocess.run(  # noqa: S603 - fixed arguments, no shell
                [path, "--version"], capture_output=True, text=True, timeout=30, check=True
            ).stdout
        except (OSError, subprocess.SubprocessError) as exc:
            raise BackupError(f"{name} --version failed: {exc}") from None
        match = re.search(r"(\d+)(?:\.(\d+))?", output)
        if match is None:
            raise BackupError(f"cannot read the version of {name} from {output.strip()!r}")
        return int(match.group(1)), match.group(0)

    def _check_tool(self, name: str) -> str:
        """pg_dump/pg_restore older than the server cannot be trusted with its dumps."""
        major, version = self._tool_version(name)
        server = self.server_major()
        if major < server:
            raise BackupError(
                f"{name} {version} is older than the PostgreSQL {server} server; install the "
                f"PostgreSQL {server} client tools (or newer) and put them first on PATH"
            )
        return self._tool(name)

    def _environment(self, database: str | None = None) -> dict[str, str]:
        settings_dict = self.connection.settings_dict
        _args, env = DatabaseClient.settings_to_cmd_args_env(settings_dict, [])
        env = {**os.environ, **(env or {})}
        for variable, value in (
            ("PGHOST", settings_dict.get("HOST")),
            ("PGPORT", settings_dict.get("PORT")),
            ("PGUSER", settings_dict.get("USER")),
            ("PGDATABASE", database or settings_dict.get("NAME")),
            ("PGOPTIONS", settings_dict["OPTIONS"].get("options")),
        ):
            if value:
                env[variable] = str(value)
        env["PGAPPNAME"] = "ariesone-backup"
        return env

    @staticmethod
    def _error_text(name: str, handle: IO[bytes], returncode: int) -> str:
        """The tool's error lines, without the ones that quote row data."""
        handle.seek(0)
        lines = handle.read().decode(errors="replace").splitlines()
        kept = [
            _QUOTED_VALUE.sub(
                r"\1(value withheld: it may be row data)",
                _COPY_FAILURE.sub(r"\1 (details withheld: they may quote row data)", line.strip()),
            )
            for line in lines
            if line.strip() and not _DETAIL_LINE.match(_PSQL_PREFIX.sub("", line))
        ]
        errors = [line for line in kept if "error" in line.lower()] or kept
        detail = "; ".join(errors[:2])[:300] or f"exit status {returncode}"
        return f"{name} failed: {detail}"

    # Backup ------------------------------------------------------------------------

    def _dump_role(self) -> str:
        """The operator's bypass role under row-level security (docs/security/rls.md):
        a login role that owns nothing reads every table only through it. Empty: the
        login role itself (the owner)."""
        from core import rls

        return rls.operator_role() if rls.enabled(self.connection) else ""

    def dump(self, writer: Writer, progress: Any = no_progress) -> Counts:
        pg_dump = self._check_tool("pg_dump")
        role = self._dump_role()
        snapshot_connection = _side_connection(self.connection, "backup_snapshot")
        try:
            with snapshot_connection.cursor() as cursor:
                if role:
                    # The counts read every company's rows, as pg_dump does (--role).
                    cursor.execute("SELECT set_config('role', %s, false)", [role])
                cursor.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                cursor.execute("SELECT pg_export_snapshot()")
                snapshot = cursor.fetchone()[0]
                counts = count_rows(snapshot_connection, cursor)
                # The exporting transaction stays open until pg_dump has finished.
                self._run_pg_dump(pg_dump, snapshot, writer, progress, role)
                cursor.execute("COMMIT")
        finally:
            _release(snapshot_connection)
        return counts

    def _run_pg_dump(
        self, pg_dump: str, snapshot: str, writer: Writer, progress: Any, role: str = ""
    ) -> None:
        args = [
            pg_dump,
            "--format=custom",
            "--no-owner",
            "--no-privileges",
            f"--snapshot={snapshot}",
            # A migration holding a table lock makes the backup fail clearly, not hang.
            "--lock-wait-timeout=120s",
        ]
        if role:
            args.append(f"--role={role}")
        bar = progress("Dumping", None)
        with tempfile.TemporaryFile() as errors:
            process = subprocess.Popen(  # noqa: S603 - fixed arguments, no shell
                args, stdout=subprocess.PIPE, stderr=errors, env=self._environment()
            )
            assert process.stdout is not None  # stdout=PIPE
            try:
                while data := process.stdout.read(CHUNK_SIZE):
                    writer.write(data)
                    bar.update(len(data))
            except BaseException:
                process.kill()
                raise
            finally:
                process.stdout.close()
                returncode = process.wait()
                bar.close()
            if returncode != 0:
                raise BackupError(self._error_text("pg_dump", errors, returncode))

    # Restore -----------------------------------------------------------------------

    def _run_pg_restore(self, payload: Iterable[bytes], database: str, clean: bool) -> None:
        """Restore into an empty database (``clean`` False: pg_restore connects, one
        transaction), or over the live one (``_run_clean_restore``)."""
        if clean:
            self._run_clean_restore(payload, database)
            return
        pg_restore = self._check_tool("pg_restore")
        args = [pg_restore, "--no-owner", "--no-privileges", "--single-transaction"]
        # An empty --dbname makes pg_restore connect (not print SQL); libpq then takes the
        # database, like every other parameter, from the environment.
        args += ["--exit-on-error", "--dbname="]
        with tempfile.TemporaryFile() as errors:
            process = subprocess.Popen(  # noqa: S603 - fixed arguments, no shell
                args,
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=errors,
                env=self._environment(database),
            )
            self._feed(process, payload)
            returncode = process.wait()
            if returncode != 0:
                raise BackupError(self._error_text("pg_restore", errors, returncode))

    def _run_clean_restore(self, payload: Iterable[bytes], database: str) -> None:
        """pg_restore writes the clean-and-restore SQL; psql runs it after
        ``DROP_PARTITIONED`` in one transaction, stopping (and rolling back) at the first
        error: the live database is replaced whole or left as it was."""
        pg_restore = self._check_tool("pg_restore")
        psql = self._check_tool("psql")
        environment = self._environment(database)
        script_args = [pg_restore, "--no-owner", "--no-privileges", "--clean", "--if-exists"]
        script_args += ["--file=-"]
        run_args = [psql, "--no-psqlrc", "--quiet", "--single-transaction"]
        run_args += ["--set=ON_ERROR_STOP=1", f"--command={DROP_PARTITIONED}", "--file=-"]
        with tempfile.TemporaryFile() as script_errors, tempfile.TemporaryFile() as errors:
            script = subprocess.Popen(  # noqa: S603 - fixed arguments, no shell
                script_args,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=script_errors,
                env=environment,
            )
            try:
                run = subprocess.Popen(  # noqa: S603 - fixed arguments, no shell
                    run_args,
                    stdin=script.stdout,
                    stdout=subprocess.DEVNULL,
                    stderr=errors,
                    env=environment,
                )
            except BaseException:
                script.kill()
                script.wait()
                raise
            assert script.stdout is not None  # stdout=PIPE
            # psql alone reads the script now: pg_restore sees a broken pipe if psql stops.
            script.stdout.close()
            try:
                self._feed(script, payload)
            except BaseException:
                # psql killed before the script ends never commits: nothing changes.
                run.kill()
                run.wait()
                raise
            script_code = script.wait()
            run_code = run.wait()
            # psql's error first: a failed statement also stops pg_restore (broken pipe).
            if run_code != 0:
                raise BackupError(self._error_text("psql", errors, run_code))
            if script_code != 0:
                raise BackupError(self._error_text("pg_restore", script_errors, script_code))

    @staticmethod
    def _feed(process: subprocess.Popen[bytes], payload: Iterable[bytes]) -> None:
        """Write the decrypted archive into the tool's stdin, then close it."""
        assert process.stdin is not None  # stdin=PIPE
        try:
            for data in payload:
                process.stdin.write(data)
        except BrokenPipeError:
            pass  # The tool stopped early: its exit status and message say why.
        except BaseException:
            # Killed before its input ends, pg_restore never commits: nothing changes.
            process.kill()
            process.wait()
            raise
        with suppress(BrokenPipeError):
            process.stdin.close()

    def restore(self, payload: Iterable[bytes]) -> None:
        if self.connection.in_atomic_block:
            raise BackupError("a restore cannot run inside a database transaction")
        # Our own idle session must hold nothing on the tables pg_restore drops.
        self.connection.close()
        self._run_pg_restore(payload, self.connection.settings_dict["NAME"], clean=True)
        with self.connection.cursor() as cursor:
            # pg_restore leaves the planner without statistics (and the admin's
            # estimated counts at -1) until autovacuum passes.
            cursor.execute("ANALYZE")

    def scratch_counts(self, payload: Iterable[bytes]) -> Counts:
        name = f"{SCRATCH_PREFIX}{secrets.token_hex(6)}"
        admin = _side_connection(self.connection, "backup_admin")
        created = False
        try:
            with admin.cursor() as cursor:
                try:
                    cursor.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
                except Exception as exc:
                    raise BackupError(
                        "cannot create the scratch database for the check (the database "
                        f"user needs CREATEDB): {str(exc).splitlines()[0]}"
                    ) from None
                created = True
            self._run_pg_restore(payload, name, clean=False)
            scratch = _wrapper_for(self.connection, name, alias="backup_scratch")
            try:
                with scratch.cursor() as cursor:
                    return count_rows(scratch, cursor)
            finally:
                _release(scratch)
        finally:
            if created:
                self._drop_scratch(admin, name)
            _release(admin)

    @staticmethod
    def _drop_scratch(admin: BaseDatabaseWrapper, name: str) -> None:
        # Only the database this run created, and only a name of the scratch pattern.
        if not _SCRATCH_NAME.match(name):
            raise BackupError(f"refusing to drop {name}: not a scratch database name")
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def live_counts(self) -> Counts:
        with self.connection.cursor() as cursor:
            return count_rows(self.connection, cursor)

    def tables_with_rows(self) -> list[str]:
        return tables_with_rows(self.connection)
