"""Database backups: compressed, encrypted, checksummed, verified by one command.

- :mod:`.crypto`: the file format (AES-256-GCM in authenticated chunks, streamed);
- :mod:`.files`: names, manifests, atomic writes in ``BACKUP_DIR``;
- :mod:`.engines`: SQLite (online backup API) and PostgreSQL (pg_dump/pg_restore);
- :mod:`.services`: ``create_backup``, ``restore_backup``, ``verify_backup``,
  ``prune_backups``, called by the ``backup``/``restore``/``verify_backup`` commands
  and the ``core.tasks.backup_database`` task.
"""

from .errors import (
    BackupError,
    BackupInProgress,
    BackupIntegrityError,
    BackupKeyError,
    DatabaseNotEmpty,
    RowCountMismatch,
)
from .services import (
    BackupResult,
    RestoreResult,
    VerifyResult,
    create_backup,
    latest_backup,
    prune_backups,
    restore_backup,
    verify_backup,
)

__all__ = [
    "BackupError",
    "BackupInProgress",
    "BackupIntegrityError",
    "BackupKeyError",
    "BackupResult",
    "DatabaseNotEmpty",
    "RestoreResult",
    "RowCountMismatch",
    "VerifyResult",
    "create_backup",
    "latest_backup",
    "prune_backups",
    "restore_backup",
    "verify_backup",
]
