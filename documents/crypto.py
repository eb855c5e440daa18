"""Documents at rest: the backup file format (docs/decisions/0005-backup-file-format.md)
under a key of their own.

Each stored file is one sealed stream of ``core.backups.crypto``: a header (payload
type ``DOCUMENT``, key fingerprint, salt, nonce prefix, the document's id), then 1 MiB
chunks of AES-256-GCM with the STREAM nonces, each chunk authenticated together with
the header, its number and the last-chunk flag. A per-file key is derived with
HKDF-SHA256 from ``DOCUMENT_ENCRYPTION_KEY`` and the file's salt. Nothing is
compressed: scans and PDFs barely compress and the length is not secret.

Rotation works as for backups: put a new key first (``new,old``); new files are sealed
under it, old ones open under the key whose fingerprint their header names, and
``manage.py reencrypt_documents`` re-seals the old ones under the newest key.
"""

import hashlib
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO

from django.conf import settings

from core.backups.crypto import (
    GENERATE_KEY_COMMAND,
    BackupKey,
    EncryptingWriter,
    Header,
    Payload,
    Readable,
    decrypt_chunks,
)
from core.backups.errors import BackupIntegrityError, BackupKeyError
from core.exceptions import ServiceError

# Sealed files up to this size are built in memory, larger ones in a temporary file
# (ciphertext only: the plaintext never touches the disk).
SPOOL_BYTES = 8 << 20
READ_STEP = 1 << 20


class DocumentKeyError(ServiceError):
    """The document key is missing, malformed, or not the one that sealed a file."""


class DocumentIntegrityError(ServiceError):
    """A stored file failed authentication: altered, cut, or not one of ours."""


def configured_keys() -> list[BackupKey]:
    """``settings.DOCUMENT_ENCRYPTION_KEY``, newest (the sealing one) first."""
    value = settings.DOCUMENT_ENCRYPTION_KEY
    texts = [text for text in (value.split(",") if isinstance(value, str) else value) if text]
    if not texts:
        raise DocumentKeyError(
            f"DOCUMENT_ENCRYPTION_KEY is not set; generate one with: {GENERATE_KEY_COMMAND}",
            code="document_key_missing",
        )
    keys = []
    for position, text in enumerate(texts, 1):
        try:
            keys.append(BackupKey.from_text(text, position))
        except BackupKeyError:
            raise DocumentKeyError(
                f"DOCUMENT_ENCRYPTION_KEY entry {position} is not a 32-byte url-safe base64 "
                f"key; generate one with: {GENERATE_KEY_COMMAND}",
                code="document_key_invalid",
            ) from None
    return keys


def newest_fingerprint() -> str:
    return configured_keys()[0].fingerprint


@dataclass
class Sealed:
    """A sealed file ready for the storage, and what describes its plaintext."""

    file: IO[bytes]
    sha256: str
    size: int
    fingerprint: str


def seal(chunks: Iterable[bytes], document_id: uuid.UUID) -> Sealed:
    """Seal the plaintext ``chunks`` under the newest key; rewound, ready to store."""
    key = configured_keys()[0]
    # Handed to the caller, who closes it after storing: no context manager here.
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115
    writer = EncryptingWriter(
        spool,
        key,
        payload=Payload.DOCUMENT,
        backup_id=document_id,
        compress=False,
    )
    digest = hashlib.sha256()
    size = 0
    for chunk in chunks:
        digest.update(chunk)
        size += len(chunk)
        writer.write(chunk)
    writer.close()
    spool.seek(0)
    return Sealed(
        file=spool,
        sha256=digest.hexdigest(),
        size=size,
        fingerprint=key.fingerprint,
    )


def read_chunks(raw: Readable, step: int = READ_STEP) -> Iterator[bytes]:
    while True:
        data = raw.read(step)
        if not data:
            return
        yield data


def open_sealed(raw: Readable) -> Iterator[bytes]:
    """Yield the authenticated plaintext of a sealed file, chunk by chunk."""
    try:
        header = Header.read(raw)
    except BackupIntegrityError:
        raise DocumentIntegrityError(
            "The stored file is not a sealed document.", code="document_damaged"
        ) from None
    if header.payload != Payload.DOCUMENT:
        raise DocumentIntegrityError(
            "The stored file is not a sealed document.", code="document_damaged"
        )
    fingerprint = header.fingerprint.hex()
    key = next((k for k in configured_keys() if k.fingerprint == fingerprint), None)
    if key is None:
        raise DocumentKeyError(
            f"No configured DOCUMENT_ENCRYPTION_KEY opens this file (key fingerprint "
            f"{fingerprint}); add the key that sealed it.",
            code="document_key_unknown",
        )
    try:
        yield from decrypt_chunks(raw, header, key)
    except BackupIntegrityError:
        raise DocumentIntegrityError(
            "The stored file failed authentication (altered or truncated).",
            code="document_damaged",
        ) from None


def file_fingerprint(raw: Readable) -> str:
    """The fingerprint of the key that sealed ``raw`` (its header only)."""
    return Header.read(raw).fingerprint.hex()
