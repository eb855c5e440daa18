"""``manage.py restore <file>``: replace the database with a backup, verified."""

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from core.backups import BackupError, restore_backup
from core.backups.errors import first_line
from core.backups.progress import tqdm_progress


class Command(BaseCommand):
    help = (
        "Restore the database from a backup file (its manifest must be beside it). Checks "
        "the checksum, the key and every chunk before writing anything; refuses a non-empty "
        "database without --force; afterwards compares every table's row count with the "
        "manifest. Stop the application and the workers first."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="The .backup file (or its .manifest.json).")
        parser.add_argument(
            "--force",
            action="store_true",
            help="Replace a database that holds data (everything in it is replaced).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        progress = tqdm_progress(getattr(self.stderr, "_out", sys.stderr))
        try:
            result = restore_backup(options["file"], force=options["force"], progress=progress)
        except BackupError as exc:
            raise CommandError(f"Restore refused or failed: {exc}") from None
        except DatabaseError as exc:
            raise CommandError(f"Restore failed: database error: {first_line(exc)}") from None
        manifest = result.manifest
        if result.extra_tables:
            self.stdout.write(
                self.style.WARNING(
                    f"Tables not in the backup were left as they were: "
                    f"{', '.join(result.extra_tables)}."
                )
            )
        if result.pending_migrations:
            self.stdout.write(
                self.style.WARNING(
                    f"The restored database is {result.pending_migrations} migration(s) behind "
                    "this code: run manage.py migrate."
                )
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Restored {manifest['file']} (backup of {manifest['created_at']}, app "
                f"{manifest.get('app_version', 'unknown')}): {len(manifest['row_counts'])} "
                f"tables, {result.total_rows} rows, every count matches the manifest "
                f"({result.duration:.1f} s)."
            )
        )
