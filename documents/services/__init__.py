"""Every operation of the documents app (admin, API, pages, tasks and commands call
these; none re-implements them)."""

from .billing import Attachment, attachments_for_claim, register_readiness_checks
from .documents import (
    add_document,
    document_bytes,
    mark_attachment_sent,
    reseal_stale,
    upload_document,
)
from .intake import (
    discard_intake,
    file_intake,
    process_pending,
    receive_fax,
    recognise_intake,
    scan_inbox,
    suggest,
)
from .legal_holds import place_hold, release_hold
from .packet import build_audit_packet
from .retention import plan_purge, purge
from .signing import LinkRefused, request_for_token, send_signing_request, sign

__all__ = [
    "Attachment",
    "LinkRefused",
    "add_document",
    "attachments_for_claim",
    "build_audit_packet",
    "discard_intake",
    "document_bytes",
    "file_intake",
    "mark_attachment_sent",
    "place_hold",
    "plan_purge",
    "process_pending",
    "purge",
    "receive_fax",
    "recognise_intake",
    "register_readiness_checks",
    "release_hold",
    "request_for_token",
    "reseal_stale",
    "scan_inbox",
    "send_signing_request",
    "sign",
    "suggest",
    "upload_document",
]
