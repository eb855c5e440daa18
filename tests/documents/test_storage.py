"""Documents at rest: sealed, authenticated, never plaintext; checked by content."""

import hashlib
import io

import pytest
from django.core.files.storage import storages

from core.backups.crypto import MAGIC, generate_key
from core.exceptions import ServiceError
from documents import crypto, files
from documents.choices import DocumentKind
from documents.services import document_bytes, upload_document
from tests.clinical.factories import PatientFactory
from tests.documents.factories import MARKER, DocumentFactory, pdf_bytes, png_bytes


def stored_bytes(root):
    return b"".join(path.read_bytes() for path in root.rglob("*.sealed"))


@pytest.mark.django_db
@pytest.mark.parametrize("make", [pdf_bytes, png_bytes])
def test_it_never_stores_plaintext(company, documents_storage, make):
    data = make()
    assert MARKER.encode() in data
    document = DocumentFactory(company=company, data=data)
    raw = stored_bytes(documents_storage)
    assert raw.startswith(MAGIC)
    assert MARKER.encode() not in raw
    assert b"Quintero" not in raw
    assert document_bytes(document) == data
    assert document.sha256 == hashlib.sha256(data).hexdigest()
    assert document.size == len(data)
    # The stored name says nothing about the patient or the type.
    assert document.storage_name.endswith(f"{document.pk}.sealed")


@pytest.mark.django_db
def test_it_refuses_a_file_by_content_not_name(company):
    patient = PatientFactory(company=company)
    fake = io.BytesIO(b"Dear doctor, this is plain text.")
    fake.name = "order.pdf"
    with pytest.raises(files.FileRefused) as error:
        upload_document(patient=patient, kind=DocumentKind.OTHER, file=fake)
    assert error.value.code == "file_type_refused"
    assert "PDF, TIFF, PNG or JPEG" in error.value.message


@pytest.mark.django_db
def test_it_accepts_a_pdf_whatever_its_name(company):
    patient = PatientFactory(company=company)
    upload = io.BytesIO(pdf_bytes(pages=3))
    upload.name = "scan.txt"
    document = upload_document(patient=patient, kind=DocumentKind.OTHER, file=upload)
    assert (document.content_type, document.pages) == ("application/pdf", 3)


@pytest.mark.django_db
def test_it_refuses_a_damaged_pdf_and_an_empty_file(company):
    patient = PatientFactory(company=company)
    with pytest.raises(files.FileRefused) as error:
        upload_document(patient=patient, kind=DocumentKind.OTHER, file=io.BytesIO(b"%PDF-1.7 x"))
    assert error.value.code == "file_unreadable"
    with pytest.raises(files.FileRefused) as error:
        upload_document(patient=patient, kind=DocumentKind.OTHER, file=io.BytesIO(b""))
    assert error.value.code == "file_empty"


@pytest.mark.django_db
def test_it_refuses_a_file_over_the_limit(company, settings, documents_storage):
    settings.DOCUMENT_MAX_BYTES = 1000
    patient = PatientFactory(company=company)
    with pytest.raises(files.FileRefused) as error:
        upload_document(
            patient=patient, kind=DocumentKind.OTHER, file=io.BytesIO(pdf_bytes() + b" " * 1000)
        )
    assert error.value.code == "file_too_large"
    assert not stored_bytes(documents_storage)


@pytest.mark.django_db
def test_it_refuses_a_patient_mismatch_and_leaves_no_file(company, documents_storage):
    from tests.dme.factories import OrderFactory

    patient = PatientFactory(company=company)
    order = OrderFactory(company=company)
    with pytest.raises(ServiceError, match="another patient"):
        DocumentFactory(company=company, patient=patient, order=order)
    assert not stored_bytes(documents_storage)


@pytest.mark.django_db
def test_a_tampered_file_is_refused(company, documents_storage):
    document = DocumentFactory(company=company)
    path = next(documents_storage.rglob("*.sealed"))
    raw = bytearray(path.read_bytes())
    raw[-5] ^= 0x01
    path.write_bytes(bytes(raw))
    with pytest.raises(crypto.DocumentIntegrityError):
        document_bytes(document)


@pytest.mark.django_db
def test_keys_rotate_newest_first(company, settings):
    old = DocumentFactory(company=company)
    old_key = settings.DOCUMENT_ENCRYPTION_KEY[0]
    settings.DOCUMENT_ENCRYPTION_KEY = [generate_key(), old_key]
    new = DocumentFactory(company=company, patient=old.patient)
    assert new.key_fingerprint != old.key_fingerprint
    assert document_bytes(old) == document_bytes(new)
    settings.DOCUMENT_ENCRYPTION_KEY = [generate_key()]
    with pytest.raises(crypto.DocumentKeyError) as error:
        document_bytes(old)
    assert old.key_fingerprint in error.value.message


def test_a_malformed_key_is_named(settings):
    settings.DOCUMENT_ENCRYPTION_KEY = ["not-a-key"]
    with pytest.raises(crypto.DocumentKeyError) as error:
        crypto.configured_keys()
    assert "DOCUMENT_ENCRYPTION_KEY entry 1" in error.value.message


def test_the_s3_backend_imports_and_constructs(settings):
    from storages.backends.s3 import S3Storage

    settings.STORAGES = {
        **settings.STORAGES,
        "documents": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": "ariesone-documents-test",
                "region_name": "us-east-1",
                "access_key": "test",
                "secret_key": "test",
                "default_acl": "private",
                "file_overwrite": False,
            },
        },
    }
    storage = storages["documents"]
    assert isinstance(storage, S3Storage)
    assert storage.bucket_name == "ariesone-documents-test"
    assert storage.default_acl == "private"


@pytest.mark.django_db
def test_reencrypt_documents_reseals_under_the_newest_key(
    company, settings, documents_storage, django_capture_on_commit_callbacks
):
    from django.core.management import call_command

    document = DocumentFactory(company=company)
    before = document_bytes(document)
    old_key = settings.DOCUMENT_ENCRYPTION_KEY[0]
    settings.DOCUMENT_ENCRYPTION_KEY = [generate_key(), old_key]
    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("reencrypt_documents", stdout=out)
    assert "Re-sealed 1 document(s)" in out.getvalue()
    document.refresh_from_db()
    assert document.key_fingerprint == crypto.newest_fingerprint()
    assert len(list(documents_storage.rglob("*.sealed"))) == 1
    settings.DOCUMENT_ENCRYPTION_KEY = settings.DOCUMENT_ENCRYPTION_KEY[:1]
    assert document_bytes(document) == before
