"""Creating documents: an upload, a filed fax, a signed order, a generated file."""

import datetime
import uuid
from functools import partial
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from core.events import emit
from core.exceptions import ServiceError

from .. import files
from ..choices import AttachmentTransmission, DocumentKind, DocumentSource
from ..models import Document


def _check_links(company_id: Any, patient: Any, links: dict[str, Any]) -> None:
    """Every linked record is of the company, and of the patient where it has one."""
    if patient.company_id != company_id:
        raise ServiceError(
            "This patient is not in your company.", fields={"patient": ["Not in your company."]}
        )
    for field, related in links.items():
        if related is None:
            continue
        if related.company_id != company_id:
            raise ServiceError(
                "This record is not in your company.", fields={field: ["Not in your company."]}
            )
        owner_id = getattr(related, "patient_id", None)
        if field == "delivery":
            owner_id = related.order.patient_id
        if owner_id is not None and owner_id != patient.pk:
            raise ServiceError(
                f"The {field} belongs to another patient.",
                code="patient_mismatch",
                fields={field: [f"This {field} is for another patient."]},
            )


def add_document(
    *,
    patient: Any,
    kind: str,
    data: bytes,
    content_type: str,
    pages: int,
    source: str = DocumentSource.UPLOAD,
    order: Any = None,
    delivery: Any = None,
    claim: Any = None,
    prescriber: Any = None,
    received_at: datetime.datetime | None = None,
    original_name: str = "",
    description: str = "",
    intake: Any = None,
) -> Document:
    """Seal and store ``data`` and create its Document. The file is written first;
    if the row cannot be saved, the file is removed again (nothing half-written)."""
    if kind not in DocumentKind.values:
        raise ServiceError("Choose a document kind.", fields={"kind": ["Unknown kind."]})
    company_id = patient.company_id
    _check_links(
        company_id,
        patient,
        {"order": order, "delivery": delivery, "claim": claim, "prescriber": prescriber},
    )
    document_id = uuid.uuid4()
    stored = files.store(data, prefix="documents", company_id=company_id, file_id=document_id)
    try:
        with transaction.atomic():
            document = Document(
                id=document_id,
                company_id=company_id,
                patient=patient,
                kind=kind,
                source=source,
                order=order,
                delivery=delivery,
                claim=claim,
                prescriber=prescriber,
                received_at=received_at or timezone.now(),
                original_name=original_name[:255],
                description=description[:500],
                intake=intake,
                storage_name=stored.storage_name,
                key_fingerprint=stored.key_fingerprint,
                sha256=stored.sha256,
                size=stored.size,
                content_type=content_type,
                pages=pages,
            )
            document.full_clean(exclude=["storage_name", "key_fingerprint"])
            document.save()
            emit(
                "document.received",
                document,
                {"patient_id": str(patient.pk), "kind": kind, "source": source},
                company=company_id,
            )
    except ValidationError as error:
        files.delete_stored(stored.storage_name)
        raise ServiceError(
            "The document could not be saved: " + "; ".join(error.messages),
            fields=getattr(error, "message_dict", {}),
        ) from None
    except BaseException:
        files.delete_stored(stored.storage_name)
        raise
    return document


def upload_document(*, patient: Any, kind: str, file: IO[bytes], **links: Any) -> Document:
    """An uploaded file (admin form or API): checked by size and content, then stored."""
    checked = files.check_file(file)
    name = getattr(file, "name", "") or ""
    return add_document(
        patient=patient,
        kind=kind,
        data=checked.data,
        content_type=checked.content_type,
        pages=checked.pages,
        source=DocumentSource.UPLOAD,
        original_name=name,
        **links,
    )


def document_bytes(document: Document) -> bytes:
    """The authenticated plaintext of a document (for the packet and tests)."""
    return files.read_plaintext(document.storage_name)


def mark_attachment_sent(
    document: Document, *, transmission: str, control_number: str = ""
) -> Document:
    """Record that ``document`` went to the payer by fax or mail for its claim, under
    the attachment control number the 837P's PWK06 carries (generated when empty)."""
    if transmission not in AttachmentTransmission.values:
        raise ServiceError(
            "Choose fax (FX) or mail (BM).", fields={"transmission": ["Fax or mail."]}
        )
    if document.claim_id is None:
        raise ServiceError(
            "Link the document to its claim before sending it as a claim attachment.",
            code="no_claim",
        )
    control_number = control_number.strip().upper()
    if control_number and not (2 <= len(control_number) <= 50 and control_number.isalnum()):
        # PWK06 is 2-80 characters (005010X222A1); payers' fax cover sheets take 50.
        raise ServiceError(
            "The attachment control number is 2 to 50 letters and digits.",
            fields={"control_number": ["2 to 50 letters and digits."]},
        )
    with transaction.atomic():
        locked = Document.objects.select_for_update().get(pk=document.pk)
        locked.attachment_transmission = transmission
        locked.attachment_control_number = control_number or "DOC" + locked.pk.hex[:12].upper()
        locked.attachment_sent_at = timezone.now()
        locked.save(
            update_fields=[
                "attachment_transmission",
                "attachment_control_number",
                "attachment_sent_at",
            ]
        )
    return locked


def reseal_stale(batch_size: int = 100, progress: Any = None) -> dict[str, int]:
    """Re-seal every stored file (documents and faxes) not sealed under the newest
    ``DOCUMENT_ENCRYPTION_KEY``: key rotation's second step. Each file is re-sealed
    under a new name, its row updated in a transaction, the old file removed after the
    commit; an interrupted run resumes where it stopped (rows already done no longer
    match). Returns counts per table."""
    from .. import crypto
    from ..models import FaxIntake

    newest = crypto.newest_fingerprint()
    counts: dict[str, int] = {}
    tables: list[tuple[Any, str, str]] = [
        (Document, "documents", "document"),
        (FaxIntake, "fax", "faxintake"),
    ]
    for model, prefix, label in tables:
        done = 0
        while True:
            rows = list(model.objects.exclude(key_fingerprint=newest).order_by("pk")[:batch_size])
            if not rows:
                break
            for row in rows:
                data = files.read_plaintext(row.storage_name)
                stored = files.store(data, prefix=prefix, company_id=row.company_id, file_id=row.pk)
                old_name = row.storage_name
                with transaction.atomic():
                    model.objects.filter(pk=row.pk, storage_name=old_name).update(
                        storage_name=stored.storage_name, key_fingerprint=stored.key_fingerprint
                    )
                    transaction.on_commit(partial(files.delete_stored, old_name))
                done += 1
                if progress is not None:
                    progress(1)
        counts[label] = done
    return counts
