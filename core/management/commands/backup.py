"""``manage.py backup``: one encrypted, checksummed backup of the database now."""

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from core.backups import BackupError, create_backup
from core.backups.errors import first_line
from core.backups.progress import human_size, tqdm_progress
from core.choices import BackupTrigger


class Command(BaseCommand):
    help = (
        "Back up the database (PostgreSQL: pg_dump; SQLite: online backup API), compressed "
        "and encrypted with BACKUP_ENCRYPTION_KEY, into BACKUP_DIR with a manifest; then "
        "prune backups older than BACKUP_RETENTION_DAYS (never the newest good one)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--no-prune",
            action="store_true",
            help="Keep old backups this time (retention runs again after the next backup).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        progress = tqdm_progress(getattr(self.stderr, "_out", sys.stderr))
        try:
            result = create_backup(
                trigger=BackupTrigger.COMMAND, progress=progress, prune=not options["no_prune"]
            )
        except BackupError as exc:
            raise CommandError(f"Backup failed: {exc}") from None
        except DatabaseError as exc:
            raise CommandError(f"Backup failed: database error: {first_line(exc)}") from None
        record = result.record
        seconds = record.duration.total_seconds() if record.duration else 0.0
        pruned = f"; pruned {len(result.pruned)} old backup(s)" if result.pruned else ""
        self.stdout.write(
            self.style.SUCCESS(
                f"Backup written: {result.path} ({human_size(record.size_bytes or 0)}, "
                f"{record.row_count} rows in {record.table_count} tables, "
                f"{seconds:.1f} s){pruned}."
            )
        )
