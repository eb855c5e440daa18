"""What can go wrong with a backup, each with a message an operator can act on.

Messages are one line and never carry PHI: table names, counts, file names and key
fingerprints only. Commands print them as they are; the ``Backup`` row keeps them.
"""


class BackupError(Exception):
    """A backup, restore or verification that could not be done."""

    @property
    def message(self) -> str:
        return str(self)


class BackupKeyError(BackupError):
    """No usable backup key, or the file was sealed with a key we do not have."""


class BackupIntegrityError(BackupError):
    """The file is not what the manifest says: corrupted, truncated or tampered with."""


class BackupInProgress(BackupError):
    """Another backup or restore holds the lock."""


class DatabaseNotEmpty(BackupError):
    """A restore would overwrite data and ``--force`` was not given."""


class RowCountMismatch(BackupError):
    """After a restore, some tables do not hold the rows the manifest lists."""

    def __init__(self, message: str, tables: list[str]) -> None:
        super().__init__(message)
        self.tables = tables


def first_line(exc: BaseException) -> str:
    """The first line of an exception's text (database errors add DETAIL lines with values)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
