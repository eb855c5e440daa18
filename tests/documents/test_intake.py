"""The fax intake: a generated fax dropped in the inbox gets the right suggestions,
and nothing reaches a patient until a clerk files it."""

import datetime
import shutil

import pytest

from documents import tasks
from documents.choices import DocumentKind, DocumentSource, IntakeOrigin, IntakeStatus
from documents.models import Document, FaxIntake
from documents.services import (
    discard_intake,
    document_bytes,
    file_intake,
    suggest,
)
from documents.services.intake import find_npis
from tests.clinical.factories import PatientFactory, ProviderFactory
from tests.documents.factories import fax_pdf

needs_ocr = pytest.mark.skipif(
    shutil.which("tesseract") is None, reason="needs Tesseract (scripts/system-packages.sh)"
)
NPI = "1234567893"


@pytest.fixture
def patient(company):
    return PatientFactory(
        company=company, first_name="Maria", last_name="Quintero", dob=datetime.date(1952, 3, 14)
    )


@pytest.fixture
def prescriber(company):
    return ProviderFactory(company=company, first_name="Lena", last_name="Brook", npi=NPI)


def drop(settings, company, data, name="fax-0001.pdf"):
    folder = settings.FAX_INBOX_DIR / str(company.pk)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)
    return folder / name


FAX_LINES = [
    "STANDARD WRITTEN ORDER",
    "Patient: Maria Quintero",
    "Date of birth: 03/14/1952",
    "Ordering physician NPI: 1234567893",
    "Item: CPAP device, heated humidifier",
]


@needs_ocr
@pytest.mark.django_db
def test_a_dropped_fax_gets_the_right_suggestions(
    settings, company, other_company, patient, prescriber
):
    # Same name and birth date in another company: never suggested.
    PatientFactory(company=other_company, first_name="Maria", last_name="Quintero", dob=patient.dob)
    # Same birth date, another name: not suggested.
    PatientFactory(company=company, first_name="Ann", last_name="Other", dob=patient.dob)
    path = drop(settings, company, fax_pdf([FAX_LINES]))

    result = tasks.process_fax_inbox.delay().get()

    assert result == {"status": "done", "received": 1, "refused": 0, "recognised": 1, "failed": 0}
    assert not path.exists()
    intake = FaxIntake.objects.get()
    assert intake.origin == IntakeOrigin.INBOX
    assert intake.status == IntakeStatus.READY
    assert intake.suggested_patient == patient
    assert intake.suggested_prescriber == prescriber
    assert intake.suggested_kind == DocumentKind.STANDARD_WRITTEN_ORDER
    assert "Quintero" in intake.ocr_text
    # Nothing attached to anyone yet.
    assert not Document.objects.exists()
    # The OCR text is encrypted in the database.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT ocr_text FROM documents_faxintake")
        (stored,) = cursor.fetchone()
    assert "Quintero" not in stored


@needs_ocr
@pytest.mark.django_db
def test_a_clerk_splits_and_files_the_pages(settings, company, patient, prescriber):
    other = PatientFactory(company=company)
    drop(settings, company, fax_pdf([FAX_LINES, ["PROGRESS NOTE", "Page two"]]))
    tasks.process_fax_inbox.delay()
    intake = FaxIntake.objects.get()
    assert intake.pages == 2

    first = file_intake(
        intake,
        patient=patient,
        kind=DocumentKind.STANDARD_WRITTEN_ORDER,
        pages="1",
        prescriber=prescriber,
    )
    intake.refresh_from_db()
    assert intake.status == IntakeStatus.READY
    assert intake.filed_pages == [1]
    assert (first.source, first.pages, first.patient) == (DocumentSource.FAX, 1, patient)
    assert document_bytes(first).startswith(b"%PDF")

    with pytest.raises(Exception, match="already filed"):
        file_intake(intake, patient=other, kind=DocumentKind.OTHER, pages="1-2")
    second = file_intake(intake, patient=other, kind=DocumentKind.FACE_TO_FACE, pages="2")
    intake.refresh_from_db()
    assert intake.status == IntakeStatus.FILED
    assert second.patient == other
    with pytest.raises(Exception, match="already filed"):
        discard_intake(intake)


@pytest.mark.django_db
def test_a_refused_file_is_set_aside(settings, company):
    path = drop(settings, company, b"not a fax", name="junk.pdf")
    result = tasks.process_fax_inbox.delay().get()
    assert result["refused"] == 1
    assert result["received"] == 0
    assert not path.exists()
    assert (path.parent / "refused" / "junk.pdf").exists()
    assert not FaxIntake.objects.exists()


@pytest.mark.django_db
def test_suggestions_check_the_npi_digit_and_need_name_and_birth_date(company, patient, prescriber):
    bad_npi = NPI[:9] + "4"
    found = suggest(company.pk, f"Maria Quintero DOB 1952-03-14 NPI {bad_npi}")
    assert found.patient == patient
    assert found.prescriber is None
    assert find_npis(f"NPI {bad_npi} and {NPI}") == [NPI]
    assert suggest(company.pk, "Quintero, born March 14, 1952").patient is None
    assert suggest(company.pk, "Maria Quintero, born March 14, 1952").patient == patient
    assert suggest(company.pk, "Advance Beneficiary Notice of Noncoverage").kind == DocumentKind.ABN


@pytest.mark.django_db
def test_the_page_range_is_checked(company, patient):
    from documents.services.intake import parse_pages

    assert parse_pages("1-3, 5", 5) == [1, 2, 3, 5]
    assert parse_pages("", 2) == [1, 2]
    for bad in ("0", "2-7", "a", "1-2-3"):
        with pytest.raises(Exception, match=r"[Pp]ages"):
            parse_pages(bad, 5)
