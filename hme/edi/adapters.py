"""Clearinghouse adapters: how X12 files leave (send) and how answers come back (fetch).

The interface is :class:`ClearinghouseAdapter`; the embedded default is
:class:`DirectoryDropAdapter` (an outbox and an inbox folder, the way SFTP-mounted
clearinghouses are used). ``settings.EDI_ADAPTER`` names the class to use (dotted path);
:func:`get_adapter` builds it. An SFTP or HTTPS adapter subclasses the interface and
implements the three methods; nothing else in AriesOne changes (docs/domain/edi.md).

Each company has its own sub-folder (its primary key) under the outbox and the inbox, so
one drop serves every tenant without mixing their files.
"""

from __future__ import annotations

import os
import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string

from core.exceptions import ServiceError

__all__ = [
    "AdapterError",
    "ClearinghouseAdapter",
    "DirectoryDropAdapter",
    "InboundFile",
    "get_adapter",
]

_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,150}$")


class AdapterError(ServiceError):
    """The clearinghouse could not be reached or refused the file (retried later)."""

    code = "clearinghouse_error"
    status_code = 502


@dataclass(frozen=True)
class InboundFile:
    """A file fetched from the clearinghouse, not yet processed."""

    name: str
    data: bytes
    # Adapter-specific handle (a path, a remote id) passed back to ``done``.
    reference: str


class ClearinghouseAdapter(ABC):
    """Send files to a clearinghouse and fetch its responses, per company.

    Contract (every adapter keeps it):
    - ``send`` delivers the whole file or raises :class:`AdapterError`; a file is never
      visible half-written at the other end. It returns a reference (for the batch record).
    - ``fetch`` yields files not yet marked ``done``, oldest first; it may yield a file
      again after a crash, so processing must be idempotent (the inbox keeps a checksum).
    - ``done`` moves the file out of the way (processed or failed).
    """

    name = "abstract"

    @abstractmethod
    def send(self, company_id: Any, filename: str, chunks: Iterable[bytes]) -> str:
        """Deliver ``filename`` (its bytes in ``chunks``) for ``company_id``."""

    @abstractmethod
    def fetch(self, company_id: Any) -> Iterator[InboundFile]:
        """Yield the responses waiting for ``company_id``."""

    @abstractmethod
    def done(self, company_id: Any, inbound: InboundFile, *, ok: bool) -> None:
        """Mark ``inbound`` handled: ``ok`` False when it was refused."""


def check_filename(filename: str) -> str:
    if not _SAFE_NAME.match(filename) or ".." in filename:
        raise AdapterError("An EDI file name may hold only letters, digits, '.', '_' and '-'.")
    return filename


class DirectoryDropAdapter(ClearinghouseAdapter):
    """Outbox and inbox folders (``EDI_OUTBOX_DIR``, ``EDI_INBOX_DIR``).

    Sending writes ``<outbox>/<company>/.<name>.part``, flushes it to disk and renames it
    to ``<name>`` (a rename is atomic: the clearinghouse never picks up half a file).
    Fetching reads ``<inbox>/<company>/*`` (regular files, not hidden, oldest first, at
    most ``EDI_MAX_INBOUND_BYTES`` each); ``done`` moves a file to ``processed/`` or
    ``failed/`` beside it.
    """

    name = "directory"

    def __init__(
        self,
        outbox: str | os.PathLike[str] | None = None,
        inbox: str | os.PathLike[str] | None = None,
        *,
        max_bytes: int | None = None,
    ) -> None:
        self.outbox = Path(outbox if outbox is not None else settings.EDI_OUTBOX_DIR)
        self.inbox = Path(inbox if inbox is not None else settings.EDI_INBOX_DIR)
        self.max_bytes = max_bytes if max_bytes is not None else settings.EDI_MAX_INBOUND_BYTES

    def _folder(self, root: Path, company_id: Any) -> Path:
        folder = root / str(company_id)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise AdapterError(f"The EDI folder cannot be created ({exc.strerror}).") from None
        return folder

    def send(self, company_id: Any, filename: str, chunks: Iterable[bytes]) -> str:
        folder = self._folder(self.outbox, company_id)
        target = folder / check_filename(filename)
        if target.exists():
            raise AdapterError(f"{filename} is already in the outbox; it is not sent twice.")
        partial = folder / f".{filename}.part"
        try:
            with open(partial, "wb") as out:
                for chunk in chunks:
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.replace(partial, target)
        except OSError as exc:
            partial.unlink(missing_ok=True)
            message = f"The file could not be written to the outbox ({exc.strerror})."
            raise AdapterError(message) from None
        return str(target.relative_to(self.outbox))

    def fetch(self, company_id: Any) -> Iterator[InboundFile]:
        folder = self._folder(self.inbox, company_id)
        entries = [p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")]
        entries.sort(key=lambda p: (p.stat().st_mtime, p.name))
        for path in entries:
            size = path.stat().st_size
            if size > self.max_bytes:
                # Too big to be an acknowledgement we expect: set aside, named in the summary.
                self._move(path, "failed")
                continue
            yield InboundFile(name=path.name, data=path.read_bytes(), reference=str(path))

    def done(self, company_id: Any, inbound: InboundFile, *, ok: bool) -> None:
        path = Path(inbound.reference)
        if path.exists():
            self._move(path, "processed" if ok else "failed")

    @staticmethod
    def _move(path: Path, where: str) -> None:
        folder = path.parent / where
        folder.mkdir(exist_ok=True)
        target = folder / path.name
        n = 1
        while target.exists():
            target = folder / f"{path.name}.{n}"
            n += 1
        os.replace(path, target)


def get_adapter() -> ClearinghouseAdapter:
    """The adapter named by ``settings.EDI_ADAPTER`` (default: the directory drop)."""
    cls = import_string(settings.EDI_ADAPTER)
    adapter = cls()
    if not isinstance(adapter, ClearinghouseAdapter):
        raise AdapterError("settings.EDI_ADAPTER must name a ClearinghouseAdapter subclass.")
    return adapter
