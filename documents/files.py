"""What a document file may be, read from its content: type by magic bytes, pages,
size; and where sealed files live (the ``documents`` storage)."""

import io
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from django.conf import settings
from django.core.files import File
from django.core.files.storage import Storage, storages
from django.utils import timezone

from core.exceptions import ServiceError

from . import crypto

PDF, TIFF, PNG, JPEG = "application/pdf", "image/tiff", "image/png", "image/jpeg"
# File signatures: PDF 1.7 (ISO 32000-1, 7.5.2: "%PDF-"), TIFF 6.0 (section 2: "II*\0"
# little-endian or "MM\0*" big-endian), PNG (ISO 15948, 5.2), JPEG (ITU T.81, SOI
# marker FFD8 followed by a marker FF). The name and the declared type are ignored.
SIGNATURES = [
    (b"%PDF-", PDF),
    (b"II*\x00", TIFF),
    (b"MM\x00*", TIFF),
    (b"\x89PNG\r\n\x1a\n", PNG),
    (b"\xff\xd8\xff", JPEG),
]
ALLOWED_LABEL = "PDF, TIFF, PNG or JPEG"
EXTENSIONS = {PDF: "pdf", TIFF: "tif", PNG: "png", JPEG: "jpg"}


class FileRefused(ServiceError):
    """The file is too large, empty, or not one of the accepted types."""

    code = "invalid_file"


def documents_storage() -> Storage:
    return storages["documents"]


def sniff_type(head: bytes) -> str | None:
    for signature, content_type in SIGNATURES:
        if head.startswith(signature):
            return content_type
    return None


@dataclass
class CheckedFile:
    data: bytes
    content_type: str
    pages: int


def read_limited(file: IO[bytes]) -> bytes:
    """The whole file, refused as soon as it passes ``DOCUMENT_MAX_BYTES``."""
    limit = settings.DOCUMENT_MAX_BYTES
    data = file.read(limit + 1)
    if len(data) > limit:
        raise FileRefused(
            f"The file is larger than {limit // (1024 * 1024)} MB; split it or scan at a lower "
            "resolution.",
            code="file_too_large",
        )
    if not data:
        raise FileRefused("The file is empty.", code="file_empty")
    return data


def count_pages(data: bytes, content_type: str) -> int:
    """Pages of a PDF (pypdf) or frames of a TIFF (Pillow); a broken file is refused."""
    try:
        if content_type == PDF:
            from pypdf import PdfReader

            return max(1, len(PdfReader(io.BytesIO(data)).pages))
        from PIL import Image

        with Image.open(io.BytesIO(data)) as image:
            image.verify()
        with Image.open(io.BytesIO(data)) as image:
            return max(1, int(getattr(image, "n_frames", 1)))
    except Exception:
        raise FileRefused(
            f"The file looks like a {EXTENSIONS[content_type].upper()} but cannot be read; "
            "it may be damaged.",
            code="file_unreadable",
        ) from None


def check_file(file: IO[bytes]) -> CheckedFile:
    """Read and check an uploaded file: size, type by content, readable pages."""
    data = read_limited(file)
    content_type = sniff_type(data[:16])
    if content_type is None:
        raise FileRefused(
            f"Only {ALLOWED_LABEL} files are accepted (checked by their content, not their name).",
            code="file_type_refused",
        )
    return CheckedFile(data=data, content_type=content_type, pages=count_pages(data, content_type))


def storage_name(prefix: str, company_id: uuid.UUID, file_id: uuid.UUID) -> str:
    """``documents/<company>/<yyyy>/<mm>/<id>.sealed``: no name, no type, no PHI."""
    now = timezone.now()
    return f"{prefix}/{company_id}/{now:%Y}/{now:%m}/{file_id}.sealed"


def _chunks(data: bytes, step: int = crypto.READ_STEP) -> Iterator[bytes]:
    for start in range(0, len(data), step):
        yield data[start : start + step]


@dataclass
class StoredFile:
    storage_name: str
    key_fingerprint: str
    sha256: str
    size: int


def store(data: bytes, *, prefix: str, company_id: uuid.UUID, file_id: uuid.UUID) -> StoredFile:
    """Seal ``data`` and write it to the documents storage."""
    sealed = crypto.seal(_chunks(data), file_id)
    try:
        name = documents_storage().save(
            storage_name(prefix, company_id, file_id), File(sealed.file)
        )
    finally:
        sealed.file.close()
    return StoredFile(
        storage_name=name,
        key_fingerprint=sealed.fingerprint,
        sha256=sealed.sha256,
        size=sealed.size,
    )


def open_plaintext(name: str) -> Iterator[bytes]:
    """Yield the plaintext of a stored file, authenticated chunk by chunk."""
    with documents_storage().open(name, "rb") as raw:
        yield from crypto.open_sealed(raw)


def read_plaintext(name: str) -> bytes:
    return b"".join(open_plaintext(name))


def delete_stored(name: str) -> None:
    if name:
        documents_storage().delete(name)
