"""The fax intake inbox: receive, OCR, suggest, and file only on a person's word.

A fax arrives as a file in ``FAX_INBOX_DIR/<company id>/`` (what e-fax services
deliver) or as an upload; ``receive_fax`` seals it into a FaxIntake and removes the
inbox copy; ``recognise_intake`` runs OCR and makes suggestions (patient, prescriber,
kind); a clerk then files pages as documents (``file_intake``) or discards the fax.
Suggestions never attach anything: only ``file_intake``, called by a person, does.
"""

import datetime
import io
import logging
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from clinical.models import Patient, Provider
from core.exceptions import InvalidTransition, ServiceError
from core.locks import lock_row
from core.validators import npi_check_digit

from .. import files, ocr
from ..choices import DocumentKind, DocumentSource, IntakeOrigin, IntakeStatus
from ..models import Document, FaxIntake
from .documents import add_document

logger = logging.getLogger(__name__)

# Dates as faxes write them: 03/14/1952, 3-14-1952, 1952-03-14, March 14, 1952.
_DATE_PATTERNS = [
    (re.compile(r"\b(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})\b"), "mdy"),
    (re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b"), "ymd"),
    (
        re.compile(
            r"\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.?\s+(\d{1,2}),?\s+(\d{4})\b",
            re.IGNORECASE,
        ),
        "month",
    ),
]
_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_NPI_RE = re.compile(r"(?<!\d)([12]\d{9})(?!\d)")
# Phrases that name the kind of a faxed document, most specific first.
KIND_PHRASES: list[tuple[str, str]] = [
    (DocumentKind.ABN, r"advance beneficiary notice|\bABN\b|CMS-R-131"),
    (DocumentKind.PRIOR_AUTH_DECISION, r"prior authori[sz]ation|non-affirm|affirmed|\bPAR\b"),
    (DocumentKind.PROOF_OF_DELIVERY, r"proof of delivery|delivery ticket|received by"),
    (DocumentKind.STANDARD_WRITTEN_ORDER, r"standard written order|written order|\bSWO\b"),
    (DocumentKind.FACE_TO_FACE, r"face[- ]to[- ]face|office visit|progress note"),
    (DocumentKind.PRESCRIPTION, r"prescription|\bRx\b"),
    (DocumentKind.INSURANCE_CARD, r"member id|group (no|number)|insurance card"),
    (DocumentKind.MEDICAL_RECORD, r"medical record|history and physical|chart note"),
]


def find_dates(text: str) -> list[datetime.date]:
    found: list[datetime.date] = []
    for pattern, style in _DATE_PATTERNS:
        for match in pattern.finditer(text):
            a, b, c = match.groups()
            try:
                if style == "mdy":
                    value = datetime.date(int(c), int(a), int(b))
                elif style == "ymd":
                    value = datetime.date(int(a), int(b), int(c))
                else:
                    value = datetime.date(int(c), _MONTHS.index(a[:3].lower()) + 1, int(b))
            except ValueError:
                continue
            if value not in found:
                found.append(value)
    return found


def find_npis(text: str) -> list[str]:
    """10-digit numbers starting 1 or 2 whose Luhn check digit is right (CMS NPI
    standard, 45 CFR 162.406; check digit over the prefix 80840)."""
    found: list[str] = []
    for match in _NPI_RE.finditer(text):
        npi = match.group(1)
        if int(npi[9]) == npi_check_digit(npi[:9]) and npi not in found:
            found.append(npi)
    return found


def guess_kind(text: str) -> str:
    for kind, pattern in KIND_PHRASES:
        if re.search(pattern, text, re.IGNORECASE):
            return kind
    return ""


def _has_word(text: str, word: str) -> bool:
    return bool(word) and re.search(rf"\b{re.escape(word)}\b", text, re.IGNORECASE) is not None


@dataclass
class Suggestions:
    patient: Any = None
    prescriber: Any = None
    kind: str = ""
    notes: list[str] = field(default_factory=list)


def suggest(company_id: Any, text: str) -> Suggestions:
    """What the text seems to be about. The patient: a date of birth in the text
    (found through the blind index) whose patient's last and first names are in the
    text too; one such patient, or no suggestion. The prescriber: an NPI in the text
    that passes the check digit and is one of the company's providers."""
    result = Suggestions(kind=guess_kind(text))
    candidates: dict[Any, Any] = {}
    patients = Patient.objects.filter(company_id=company_id)
    for value in find_dates(text):
        for patient in patients.filter_blind("dob", value.isoformat()):
            if _has_word(text, patient.last_name) and _has_word(text, patient.first_name):
                candidates[patient.pk] = patient
    if len(candidates) == 1:
        result.patient = next(iter(candidates.values()))
        result.notes.append("Patient: name and date of birth found in the text.")
    elif candidates:
        result.notes.append(
            f"Patient: {len(candidates)} patients match a name and date of birth; choose one."
        )
    else:
        result.notes.append("Patient: no name with a matching date of birth found.")
    npis = find_npis(text)
    providers = list(Provider.objects.filter(company_id=company_id, npi__in=npis))
    if len(providers) == 1:
        result.prescriber = providers[0]
        result.notes.append("Prescriber: NPI found in the text (check digit valid).")
    elif providers:
        result.notes.append(f"Prescriber: {len(providers)} known NPIs in the text; choose one.")
    elif npis:
        result.notes.append("Prescriber: a valid NPI is in the text but not among your providers.")
    else:
        result.notes.append("Prescriber: no valid NPI found.")
    if result.kind:
        result.notes.append("Kind: from the document's wording.")
    return result


# Receiving ---------------------------------------------------------------------------


def receive_fax(*, company: Any, data: bytes, origin: str = IntakeOrigin.UPLOAD) -> FaxIntake:
    """Check and seal a fax into a new intake (status received)."""
    checked = files.check_file(io.BytesIO(data))
    intake_id = uuid.uuid4()
    stored = files.store(checked.data, prefix="fax", company_id=company.pk, file_id=intake_id)
    try:
        with transaction.atomic():
            return FaxIntake.objects.create(
                id=intake_id,
                company=company,
                origin=origin,
                received_at=timezone.now(),
                storage_name=stored.storage_name,
                key_fingerprint=stored.key_fingerprint,
                sha256=stored.sha256,
                size=stored.size,
                content_type=checked.content_type,
                pages=checked.pages,
            )
    except BaseException:
        files.delete_stored(stored.storage_name)
        raise


@dataclass
class InboxRun:
    received: list[uuid.UUID] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # file names are the e-fax ids


def scan_inbox(inbox: Path | None = None) -> InboxRun:
    """Take in every file of ``FAX_INBOX_DIR/<company id>/``: a file becomes an intake
    and is removed from the inbox; a refused one is moved to ``<company>/refused/``."""
    from accounts.models import Company

    inbox = Path(inbox or settings.FAX_INBOX_DIR)
    run = InboxRun()
    if not inbox.is_dir():
        return run
    companies = {str(c.pk): c for c in Company.objects.filter(is_active=True)}
    for folder in sorted(p for p in inbox.iterdir() if p.is_dir()):
        company = companies.get(folder.name)
        if company is None:
            continue
        for path in sorted(p for p in folder.iterdir() if p.is_file()):
            if path.name.startswith("."):
                continue  # still being written by the e-fax service
            try:
                with path.open("rb") as handle:
                    data = files.read_limited(handle)
                intake = receive_fax(company=company, data=data, origin=IntakeOrigin.INBOX)
            except ServiceError as error:
                refused = folder / "refused"
                refused.mkdir(exist_ok=True)
                path.rename(refused / path.name)
                run.refused.append(path.name)
                logger.warning("fax inbox: a file was refused (%s)", error.code)
                continue
            path.unlink()
            run.received.append(intake.pk)
    return run


def recognise_intake(intake: FaxIntake) -> FaxIntake:
    """OCR the fax and store the text (encrypted) and the suggestions."""
    try:
        text = ocr.recognise(files.read_plaintext(intake.storage_name), intake.content_type)
    except ocr.OCRFailed as error:
        FaxIntake.objects.filter(pk=intake.pk).update(
            status=IntakeStatus.FAILED, ocr_error=str(error)[:300], ocr_at=timezone.now()
        )
        intake.refresh_from_db()
        return intake
    found = suggest(intake.company_id, text)
    with transaction.atomic():
        intake = lock_row(intake)
        if intake.status not in (IntakeStatus.RECEIVED, IntakeStatus.FAILED):
            return intake
        intake.ocr_text = text
        intake.ocr_error = ""
        intake.ocr_at = timezone.now()
        intake.suggested_patient = found.patient
        intake.suggested_prescriber = found.prescriber
        intake.suggested_kind = found.kind
        intake.suggestion_notes = found.notes
        intake.status = IntakeStatus.READY
        intake.save()
    return intake


def process_pending(limit: int = 50) -> dict[str, int]:
    """Scan the inbox, then OCR the intakes still waiting (oldest first)."""
    run = scan_inbox()
    done = failed = 0
    pending = FaxIntake.objects.filter(status=IntakeStatus.RECEIVED).order_by("received_at")
    for intake in pending[:limit]:
        result = recognise_intake(intake)
        if result.status == IntakeStatus.FAILED:
            failed += 1
        else:
            done += 1
    return {
        "received": len(run.received),
        "refused": len(run.refused),
        "recognised": done,
        "failed": failed,
    }


# Filing ----------------------------------------------------------------------------


def parse_pages(text: str, page_count: int) -> list[int]:
    """``"1-3, 5"`` -> ``[1, 2, 3, 5]``; empty means every page."""
    text = (text or "").strip()
    if not text:
        return list(range(1, page_count + 1))
    pages: list[int] = []
    for part in text.split(","):
        bounds = part.strip().split("-")
        try:
            first, last = int(bounds[0]), int(bounds[-1])
        except ValueError:
            raise ServiceError(
                "Write pages as 1-3, 5.", fields={"pages": ["Write pages as 1-3, 5."]}
            ) from None
        if len(bounds) > 2 or not 1 <= first <= last <= page_count:
            raise ServiceError(
                f"The fax has pages 1 to {page_count}.",
                fields={"pages": [f"Pages 1 to {page_count}."]},
            )
        pages.extend(p for p in range(first, last + 1) if p not in pages)
    return pages


def _extract_pages(data: bytes, content_type: str, pages: list[int], total: int) -> bytes:
    """The chosen pages as one PDF (pypdf); the whole file when all pages are chosen."""
    if pages == list(range(1, total + 1)) and content_type == files.PDF:
        return data
    from pypdf import PdfReader, PdfWriter

    reader = PdfReader(io.BytesIO(ocr.as_pdf(data, content_type)))
    writer = PdfWriter()
    for number in pages:
        writer.add_page(reader.pages[number - 1])
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def file_intake(
    intake: FaxIntake,
    *,
    patient: Any,
    kind: str,
    pages: str = "",
    prescriber: Any = None,
    order: Any = None,
) -> Document:
    """A clerk's decision: these pages of the fax are this patient's document of this
    kind. The intake is filed once every page has gone to a document."""
    if intake.status not in (IntakeStatus.READY, IntakeStatus.FAILED, IntakeStatus.RECEIVED):
        raise InvalidTransition(f"This fax is already {intake.get_status_display().lower()}.")
    chosen = parse_pages(pages, intake.pages)
    already = set(intake.filed_pages)
    if already & set(chosen):
        raise ServiceError(
            "Some of these pages were already filed: "
            + ", ".join(str(p) for p in sorted(already & set(chosen))),
            fields={"pages": ["Already filed."]},
        )
    data = files.read_plaintext(intake.storage_name)
    content = _extract_pages(data, intake.content_type, chosen, intake.pages)
    content_type = intake.content_type if content is data else files.PDF
    with transaction.atomic():
        intake = lock_row(intake)
        if set(intake.filed_pages) & set(chosen):
            raise ServiceError("Someone filed these pages a moment ago.", code="conflict")
        document = add_document(
            patient=patient,
            kind=kind,
            data=content,
            content_type=content_type,
            pages=len(chosen),
            source=DocumentSource.FAX,
            prescriber=prescriber,
            order=order,
            received_at=intake.received_at,
            intake=intake,
        )
        intake.filed_pages = sorted({*intake.filed_pages, *chosen})
        if len(intake.filed_pages) >= intake.pages:
            intake.status = IntakeStatus.FILED
            intake.filed_at = timezone.now()
        intake.save()
    return document


def discard_intake(intake: FaxIntake) -> FaxIntake:
    """Not ours (a wrong number, a cover sheet, a duplicate): discarded, file kept for
    the retention period of intakes."""
    with transaction.atomic():
        intake = lock_row(intake)
        if intake.status in (IntakeStatus.FILED, IntakeStatus.DISCARDED):
            raise InvalidTransition(f"This fax is already {intake.get_status_display().lower()}.")
        intake.status = IntakeStatus.DISCARDED
        intake.save(update_fields=["status"])
    return intake
