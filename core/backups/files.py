"""Where backups live: names, manifests, and files that appear whole or not at all.

A backup is two files in ``BACKUP_DIR``::

    ariesone-20261125T080102Z-postgresql-3f9a1c2e.backup          the sealed payload
    ariesone-20261125T080102Z-postgresql-3f9a1c2e.manifest.json   what it holds, its SHA-256

Both are written under a hidden temporary name (mode 0600) and renamed into place once
complete, the manifest last: a reader never sees half a file, and a manifest always
describes a complete file.
"""

import functools
import json
import os
import secrets
import subprocess
import tomllib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from django.conf import settings

from .errors import BackupError, BackupIntegrityError

Manifest = dict[str, Any]

PREFIX = "ariesone-"
DATA_SUFFIX = ".backup"
MANIFEST_SUFFIX = ".manifest.json"
PARTIAL_SUFFIX = ".partial"
MANIFEST_FORMAT = "ariesone-backup-manifest"
MANIFEST_VERSION = 1


def backup_dir() -> Path:
    return Path(settings.BACKUP_DIR)


def backup_name(vendor: str, backup_id: "uuid.UUID", when: datetime) -> str:
    """``ariesone-<UTC timestamp>-<vendor>-<first 8 hex digits of the id>``."""
    return f"{PREFIX}{when.astimezone(UTC):%Y%m%dT%H%M%SZ}-{vendor}-{backup_id.hex[:8]}"


def paths_for(path: str | os.PathLike[str]) -> tuple[Path, Path]:
    """``(data file, manifest)`` for either of the two paths of a backup."""
    path = Path(path)
    name = path.name
    if name.endswith(MANIFEST_SUFFIX):
        stem = name.removesuffix(MANIFEST_SUFFIX)
    else:
        stem = name.removesuffix(DATA_SUFFIX)
    return path.with_name(stem + DATA_SUFFIX), path.with_name(stem + MANIFEST_SUFFIX)


class StagedFile:
    """A file written under a hidden temporary name, renamed into place by ``commit()``."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.temp = self.path.with_name(f".{self.path.name}.{secrets.token_hex(4)}{PARTIAL_SUFFIX}")

    def open(self) -> IO[bytes]:
        # O_EXCL: never follow or reuse something already there; 0600: PHI, even sealed.
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
        return os.fdopen(os.open(self.temp, flags, 0o600), "wb")

    @staticmethod
    def flush(handle: IO[bytes]) -> None:
        handle.flush()
        os.fsync(handle.fileno())

    def commit(self) -> None:
        os.replace(self.temp, self.path)
        _fsync_dir(self.path.parent)

    def discard(self) -> None:
        self.temp.unlink(missing_ok=True)


def _fsync_dir(directory: Path) -> None:
    """Make a rename durable: without it a crash can lose the new directory entry."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def manifest_bytes(manifest: Manifest) -> bytes:
    return (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()


def read_manifest(path: str | os.PathLike[str]) -> Manifest:
    """The manifest as a dict, or a one-line refusal saying what is wrong with it."""
    path = Path(path)
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        raise BackupError(
            f"manifest {path.name} not found next to the backup; a backup is restored "
            "with the manifest written beside it"
        ) from None
    except (OSError, ValueError) as exc:
        raise BackupIntegrityError(f"manifest {path.name} cannot be read: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        raise BackupIntegrityError(f"{path.name} is not an AriesOne backup manifest")
    if manifest.get("format_version") != MANIFEST_VERSION:
        raise BackupIntegrityError(
            f"manifest format version {manifest.get('format_version')} is not supported"
        )
    missing = [
        key
        for key in ("backup_id", "created_at", "database", "sha256", "size", "row_counts")
        if key not in manifest
    ]
    if missing:
        raise BackupIntegrityError(f"manifest {path.name} lacks {', '.join(missing)}")
    return manifest


@dataclass
class StoredBackup:
    """A manifest found in ``BACKUP_DIR`` and whether its data file is there, whole."""

    manifest_path: Path
    data_path: Path
    manifest: Manifest
    created_at: datetime

    @property
    def complete(self) -> bool:
        try:
            return bool(self.data_path.stat().st_size == self.manifest["size"])
        except OSError:
            return False


def stored_backups(directory: str | os.PathLike[str] | None = None) -> list[StoredBackup]:
    """Every readable backup manifest in the directory, oldest first."""
    directory = Path(directory or backup_dir())
    if not directory.is_dir():
        return []
    found = []
    for manifest_path in directory.glob(f"{PREFIX}*{MANIFEST_SUFFIX}"):
        try:
            manifest = read_manifest(manifest_path)
            created_at = datetime.fromisoformat(manifest["created_at"])
        except (BackupError, ValueError, TypeError):
            continue
        data_path, _ = paths_for(manifest_path)
        found.append(StoredBackup(manifest_path, data_path, manifest, created_at))
    return sorted(found, key=lambda stored: stored.created_at)


@functools.cache
def app_version() -> str:
    """``[project] version`` of pyproject.toml, plus ``git describe`` when available."""
    base = Path(settings.BASE_DIR)
    try:
        with open(base / "pyproject.toml", "rb") as handle:
            version = str(tomllib.load(handle)["project"]["version"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        version = "unknown"
    if (base / ".git").exists():
        try:
            described = subprocess.run(
                ["git", "describe", "--tags", "--always", "--dirty"],  # noqa: S607
                cwd=base,
                capture_output=True,
                text=True,
                timeout=5,
                check=True,
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            described = ""
        if described:
            return f"{version} ({described})"
    return version
