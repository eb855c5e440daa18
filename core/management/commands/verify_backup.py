"""``manage.py verify_backup <file>``: prove a backup restores, without touching the database."""

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from core.backups import BackupError, latest_backup, verify_backup
from core.backups.errors import first_line
from core.backups.progress import tqdm_progress


class Command(BaseCommand):
    help = (
        "Check a backup end to end: checksum, key and every chunk, then a restore into a "
        "scratch database (SQLite: a temporary file; PostgreSQL: a database created for the "
        "check and dropped afterwards) whose row counts must match the manifest."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", nargs="?", help="The .backup file (or its .manifest.json).")
        parser.add_argument(
            "--latest", action="store_true", help="Verify the newest backup in BACKUP_DIR."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = options["file"]
        if options["latest"]:
            if path:
                raise CommandError("Give a backup file or --latest, not both.")
            path = latest_backup()
            if path is None:
                raise CommandError("No complete backup found in BACKUP_DIR.")
        elif not path:
            raise CommandError("Give a backup file (or --latest).")
        progress = tqdm_progress(getattr(self.stderr, "_out", sys.stderr))
        try:
            result = verify_backup(path, progress=progress)
        except BackupError as exc:
            raise CommandError(f"Backup verification failed: {exc}") from None
        except DatabaseError as exc:
            raise CommandError(
                f"Backup verification failed: database error: {first_line(exc)}"
            ) from None
        manifest = result.manifest
        self.stdout.write(
            self.style.SUCCESS(
                f"Backup {manifest['file']} is good: checksum, key and the row counts of "
                f"{len(result.counts)} tables ({result.total_rows} rows) match after a "
                f"restore into a scratch database ({result.duration:.1f} s)."
            )
        )
