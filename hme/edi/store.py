"""Stored EDI files: sealed at rest in the backup file format (decision 0005).

An 837P is PHI (names, member IDs, diagnoses). It is written through
``core.backups.crypto.EncryptingWriter`` (AES-256-GCM chunks, per-file key derived from
``EDI_ENCRYPTION_KEY``, payload type X12) as it is generated, so the plaintext is never
on disk and memory stays at about one chunk. The SHA-256 recorded on the batch is the
plaintext's: the bytes the clearinghouse receives.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from core.backups.crypto import (
    BackupKey,
    EncryptingWriter,
    Header,
    Payload,
    decrypt_payload,
    find_key,
)
from core.exceptions import ServiceError

# 64 KiB chunks: an 837P of a few claims is small; 5,000 claims are about 5 MiB.
CHUNK_SIZE = 64 * 1024


def keys() -> list[BackupKey]:
    texts = settings.EDI_ENCRYPTION_KEY
    if isinstance(texts, str):
        texts = texts.split(",")
    found = [BackupKey.from_text(t, n) for n, t in enumerate(texts, 1) if t.strip()]
    if not found:
        raise ServiceError("EDI_ENCRYPTION_KEY (or BACKUP_ENCRYPTION_KEY) is not set.")
    return found


@dataclass(frozen=True)
class StoredFile:
    path: Path
    sha256: str  # of the plaintext
    size: int  # plaintext bytes


def store_path(company_id: object, name: str) -> Path:
    folder = Path(settings.EDI_STORE_DIR) / str(company_id)
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{name}.aries"


def write_sealed(path: Path, pieces: Iterable[str]) -> StoredFile:
    """Encrypt ``pieces`` (text) into ``path``; removes the file if anything fails."""
    digest = hashlib.sha256()
    size = 0
    partial = path.with_name(f".{path.name}.part")
    try:
        with open(partial, "wb") as raw:
            writer = EncryptingWriter(
                raw,
                keys()[0],
                payload=Payload.X12,
                backup_id=uuid.uuid4(),
                compress=True,
                chunk_size=CHUNK_SIZE,
            )
            for piece in pieces:
                data = piece.encode("ascii")
                digest.update(data)
                size += len(data)
                writer.write(data)
            writer.close()
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return StoredFile(path=path, sha256=digest.hexdigest(), size=size)


def read_sealed(path: Path) -> Iterator[bytes]:
    """The plaintext of a stored file, authenticated chunk by chunk."""
    with open(path, "rb") as raw:
        header = Header.read(raw)
        key = find_key(header, keys())
        yield from decrypt_payload(raw, header, key)


def remove(path: Path) -> None:
    path.unlink(missing_ok=True)
