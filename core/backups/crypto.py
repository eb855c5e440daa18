"""The backup file format: a header, then the payload sealed in AES-256-GCM chunks.

Layout (format version 1)::

    header  63 bytes: magic "ARIESBK\\0", format version, payload (database vendor),
            compression, plaintext chunk size, key fingerprint (8), HKDF salt (16),
            nonce prefix (7), backup id (16)
    chunks  each ``chunk_size`` bytes of (compressed) payload plus a 16-byte GCM tag;
            the last one is shorter (possibly empty) and flagged final

Each file gets its own AES key, ``HKDF-SHA256(backup key, salt)``, so a nonce never
repeats under a key. Nonces follow the STREAM construction (Hoang, Reyhanitabar,
Rogaway and Vizar 2015; Tink's streaming AEAD uses it too): prefix, chunk counter,
final flag. Counter, final flag and the whole header are also the associated data of
every chunk, so reordering, dropping or cutting chunks, or editing the header, makes
GCM refuse the file. Everything streams: memory stays at a few chunks whatever the
database size.
"""

import base64
import binascii
import hashlib
import hmac
import os
import struct
import uuid
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import IO, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

from .errors import BackupIntegrityError, BackupKeyError


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


MAGIC = b"ARIESBK\x00"
FORMAT_VERSION = 1
CHUNK_SIZE = 1 << 20
TAG_SIZE = 16
KEY_SIZE = 32
_HEADER = struct.Struct(">8sBBBI8s16s7s16s")
HEADER_SIZE = _HEADER.size
_HKDF_INFO = b"ariesone backup v1 aes-256-gcm"
_FINGERPRINT_LABEL = b"ariesone backup key fingerprint v1"
# Decompressed output is handed on in pieces of at most this size: a chunk of zeros
# (free SQLite pages) inflates a thousandfold and must not be held whole.
_INFLATE_STEP = 4 << 20
GENERATE_KEY_COMMAND = (
    'python -c "import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())"'
)


class Payload(IntEnum):
    """What the sealed stream holds: a SQLite database file or a pg_dump archive."""

    SQLITE = 1
    POSTGRESQL = 2
    # Not a database: an X12 file sealed in this format (hme.edi.store, docs/domain/edi.md).
    X12 = 3
    # A stored document (documents.crypto): same sealing, its own key.
    DOCUMENT = 4

    @classmethod
    def for_vendor(cls, vendor: str) -> "Payload":
        try:
            return cls[vendor.upper()]
        except KeyError:
            raise BackupIntegrityError(f"backups of {vendor} databases are not supported") from None

    @property
    def vendor(self) -> str:
        return self.name.lower()


class Compression(IntEnum):
    NONE = 0
    ZLIB = 1


# Keys -----------------------------------------------------------------------------


@dataclass(frozen=True)
class BackupKey:
    """One configured backup key and its public fingerprint."""

    secret: bytes
    fingerprint: str

    @classmethod
    def from_text(cls, text: str, position: int = 1) -> "BackupKey":
        try:
            secret = base64.b64decode(text.strip().encode(), altchars=b"-_", validate=True)
        except (binascii.Error, ValueError):
            secret = b""
        if len(secret) != KEY_SIZE:
            raise BackupKeyError(
                f"BACKUP_ENCRYPTION_KEY entry {position} is not a 32-byte url-safe base64 "
                f"key; generate one with: {GENERATE_KEY_COMMAND}"
            )
        digest = hmac.new(secret, _FINGERPRINT_LABEL, hashlib.sha256).digest()
        return cls(secret=secret, fingerprint=digest[:8].hex())

    def __repr__(self) -> str:
        return f"BackupKey(fingerprint={self.fingerprint!r})"


def configured_keys() -> list[BackupKey]:
    """The keys from ``settings.BACKUP_ENCRYPTION_KEY``, newest (the encrypting one) first."""
    value = settings.BACKUP_ENCRYPTION_KEY
    texts = value.split(",") if isinstance(value, str) else list(value)
    texts = [text for text in texts if text.strip()]
    if not texts:
        raise BackupKeyError(
            f"BACKUP_ENCRYPTION_KEY is not set; generate one with: {GENERATE_KEY_COMMAND}"
        )
    return [BackupKey.from_text(text, position) for position, text in enumerate(texts, 1)]


def generate_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(KEY_SIZE)).decode()


def find_key(header: "Header", keys: Sequence[BackupKey]) -> BackupKey:
    """The configured key that sealed this file, or a clear refusal."""
    for key in keys:
        if hmac.compare_digest(key.fingerprint, header.fingerprint.hex()):
            return key
    configured = ", ".join(key.fingerprint for key in keys)
    raise BackupKeyError(
        f"the backup key does not match this file (key fingerprint {header.fingerprint.hex()}; "
        f"configured: {configured}); add the key that made it to BACKUP_ENCRYPTION_KEY"
    )


def _aead(key: BackupKey, salt: bytes) -> AESGCM:
    derived = HKDF(algorithm=hashes.SHA256(), length=KEY_SIZE, salt=salt, info=_HKDF_INFO).derive(
        key.secret
    )
    return AESGCM(derived)


# Header -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Header:
    payload: Payload
    compression: Compression
    chunk_size: int
    fingerprint: bytes
    salt: bytes
    nonce_prefix: bytes
    backup_id: uuid.UUID
    version: int = FORMAT_VERSION

    def pack(self) -> bytes:
        return _HEADER.pack(
            MAGIC,
            self.version,
            self.payload,
            self.compression,
            self.chunk_size,
            self.fingerprint,
            self.salt,
            self.nonce_prefix,
            self.backup_id.bytes,
        )

    @classmethod
    def read(cls, raw: Readable) -> "Header":
        data = _read_exactly(raw, HEADER_SIZE)
        if len(data) < len(MAGIC) or data[: len(MAGIC)] != MAGIC:
            raise BackupIntegrityError("not an AriesOne backup file (no backup header)")
        if len(data) < HEADER_SIZE:
            raise BackupIntegrityError("the file is truncated (its header is incomplete)")
        _magic, version, payload, compression, chunk_size, *rest = _HEADER.unpack(data)
        if version != FORMAT_VERSION:
            raise BackupIntegrityError(
                f"backup format version {version} is not supported by this version "
                f"of AriesOne (it reads version {FORMAT_VERSION})"
            )
        try:
            payload, compression = Payload(payload), Compression(compression)
        except ValueError:
            raise BackupIntegrityError("the backup header is damaged (unknown payload)") from None
        if not 0 < chunk_size <= 64 * CHUNK_SIZE:
            raise BackupIntegrityError("the backup header is damaged (bad chunk size)")
        fingerprint, salt, nonce_prefix, backup_id = rest
        return cls(
            payload=payload,
            compression=compression,
            chunk_size=chunk_size,
            fingerprint=fingerprint,
            salt=salt,
            nonce_prefix=nonce_prefix,
            backup_id=uuid.UUID(bytes=backup_id),
            version=version,
        )

    def nonce(self, index: int, final: bool) -> bytes:
        return self.nonce_prefix + struct.pack(">IB", index, final)

    def associated_data(self, packed: bytes, index: int, final: bool) -> bytes:
        return packed + struct.pack(">QB", index, final)


# Writing ----------------------------------------------------------------------------


class EncryptingWriter:
    """A write-only stream: ``write()`` payload bytes, ``close()`` seals the last chunk.

    Bytes go to ``raw`` as they are sealed; ``sha256`` and ``size`` describe exactly
    what was written (header included), for the manifest.
    """

    def __init__(
        self,
        raw: IO[bytes],
        key: BackupKey,
        *,
        payload: Payload,
        backup_id: uuid.UUID,
        compress: bool,
        chunk_size: int = CHUNK_SIZE,
    ) -> None:
        self.raw = raw
        self.header = Header(
            payload=payload,
            compression=Compression.ZLIB if compress else Compression.NONE,
            chunk_size=chunk_size,
            fingerprint=bytes.fromhex(key.fingerprint),
            salt=os.urandom(16),
            nonce_prefix=os.urandom(7),
            backup_id=backup_id,
        )
        self._packed = self.header.pack()
        self._aead = _aead(key, self.header.salt)
        # Level 6 (zlib's default): level 9 costs about twice the time for ~1% on this
        # data, most of which is ciphertext of the encrypted columns.
        self._compressor = zlib.compressobj(6) if compress else None
        self._buffer = bytearray()
        self._index = 0
        self._closed = False
        self.sha256 = hashlib.sha256()
        self.size = 0
        self.payload_size = 0
        self._emit(self._packed)

    def write(self, data: bytes) -> int:
        if self._closed:
            raise ValueError("write to a closed backup stream")
        self.payload_size += len(data)
        if self._compressor is not None:
            data = self._compressor.compress(data)
        self._buffer += data
        # Strictly more than a chunk: what is left at close() becomes the final chunk.
        while len(self._buffer) > self.header.chunk_size:
            self._seal_next(final=False)
        return len(data)

    def close(self) -> None:
        if self._closed:
            return
        if self._compressor is not None:
            self._buffer += self._compressor.flush()
        while len(self._buffer) > self.header.chunk_size:
            self._seal_next(final=False)
        self._seal_next(final=True)
        self._closed = True

    def _seal_next(self, final: bool) -> None:
        size = self.header.chunk_size
        chunk = bytes(self._buffer[:size])
        del self._buffer[:size]
        if self._index >= 2**32:
            raise BackupIntegrityError("the database is too large for one backup file")
        self._emit(
            self._aead.encrypt(
                self.header.nonce(self._index, final),
                chunk,
                self.header.associated_data(self._packed, self._index, final),
            )
        )
        self._index += 1

    def _emit(self, data: bytes) -> None:
        self.raw.write(data)
        self.sha256.update(data)
        self.size += len(data)


# Reading ----------------------------------------------------------------------------


def _read_exactly(raw: Readable, size: int) -> bytes:
    parts: list[bytes] = []
    wanted = size
    while wanted:
        part = raw.read(wanted)
        if not part:
            break
        parts.append(part)
        wanted -= len(part)
    return b"".join(parts)


class HashingReader:
    """Wraps a binary file: counts and hashes every byte read, reports progress."""

    def __init__(self, raw: Readable, on_read: Callable[[int], object] | None = None) -> None:
        self.raw = raw
        self.sha256 = hashlib.sha256()
        self.size = 0
        self.on_read = on_read

    def read(self, size: int = -1, /) -> bytes:
        data = self.raw.read(size)
        self.sha256.update(data)
        self.size += len(data)
        if self.on_read is not None and data:
            self.on_read(len(data))
        return data

    def drain(self, step: int = CHUNK_SIZE) -> None:
        while self.read(step):
            pass


def decrypt_chunks(raw: Readable, header: Header, key: BackupKey) -> Iterator[bytes]:
    """Yield the authenticated payload (still compressed), chunk by chunk.

    A chunk is handed on only after its tag checked out; any damage stops the stream
    with :class:`BackupIntegrityError` before the bad bytes are yielded.
    """
    aead = _aead(key, header.salt)
    packed = header.pack()
    sealed_size = header.chunk_size + TAG_SIZE
    current = _read_exactly(raw, sealed_size)
    index = 0
    while True:
        following = _read_exactly(raw, sealed_size) if len(current) == sealed_size else b""
        final = not following
        if len(current) < TAG_SIZE:
            raise BackupIntegrityError(
                f"the file is truncated (chunk {index} is incomplete); it cannot be restored"
            )
        try:
            chunk = aead.decrypt(
                header.nonce(index, final),
                current,
                header.associated_data(packed, index, final),
            )
        except InvalidTag:
            raise BackupIntegrityError(
                f"chunk {index} of the backup failed authentication: the file was altered, "
                "truncated or reordered after it was written; it cannot be restored"
            ) from None
        yield chunk
        if final:
            return
        current = following
        index += 1


def decrypt_payload(raw: Readable, header: Header, key: BackupKey) -> Iterator[bytes]:
    """Yield the payload bytes: authenticated, then decompressed, in bounded pieces."""
    chunks = decrypt_chunks(raw, header, key)
    if header.compression == Compression.NONE:
        yield from chunks
        return
    inflater = zlib.decompressobj()
    try:
        for chunk in chunks:
            data = inflater.decompress(chunk, _INFLATE_STEP)
            while True:
                if data:
                    yield data
                if not inflater.unconsumed_tail:
                    break
                data = inflater.decompress(inflater.unconsumed_tail, _INFLATE_STEP)
        tail = inflater.flush()
    except zlib.error:
        raise BackupIntegrityError("the backup's compressed stream is damaged") from None
    if tail:
        yield tail
    if not inflater.eof or inflater.unused_data:
        raise BackupIntegrityError("the backup's compressed stream is incomplete")
