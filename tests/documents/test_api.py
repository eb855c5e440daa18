"""The documents API: each route's permission, another company's 404, the access log."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.choices import Role
from accounts.roles import group_name
from core.models import AccessLog
from documents.choices import DocumentKind, IntakeStatus
from documents.models import Document, FaxIntake, LegalHold, SigningRequest
from tests.clinical.factories import PatientFactory
from tests.dme.factories import OrderFactory, OrderLineFactory
from tests.documents.factories import MARKER, DocumentFactory, pdf_bytes
from tests.factories import member


def upload(data, name="scan.pdf"):
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


@pytest.fixture
def api(api_client_for, admin_user):
    return api_client_for(admin_user)


@pytest.mark.django_db
def test_upload_is_multipart_and_checked_by_content(api, company):
    patient = PatientFactory(company=company)
    url = reverse("api:document-list")
    response = api.post(
        url,
        {"file": upload(pdf_bytes(pages=2)), "patient": str(patient.pk), "kind": "swo"},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    assert response.json()["pages"] == 2
    assert response.json()["source"] == "upload"

    response = api.post(
        url,
        {"file": upload(b"GIF89a....", "x.pdf"), "patient": str(patient.pk), "kind": "swo"},
        format="multipart",
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "file_type_refused"


@pytest.mark.django_db
def test_upload_over_the_limit_is_a_400(api, company, settings):
    settings.DOCUMENT_MAX_BYTES = 500
    patient = PatientFactory(company=company)
    response = api.post(
        reverse("api:document-list"),
        {"file": upload(pdf_bytes() + b" " * 600), "patient": str(patient.pk), "kind": "other"},
        format="multipart",
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "file_too_large"


@pytest.mark.django_db
def test_upload_for_another_companys_patient_is_refused(api, other_company):
    patient = PatientFactory(company=other_company)
    response = api.post(
        reverse("api:document-list"),
        {"file": upload(pdf_bytes()), "patient": str(patient.pk), "kind": "other"},
        format="multipart",
    )
    assert response.status_code == 400
    assert "patient" in response.json()["error"]["fields"]
    assert not Document.objects.exists()


@pytest.mark.django_db
def test_download_streams_the_file_and_logs_it(api, company, admin_user):
    document = DocumentFactory(company=company)
    response = api.get(reverse("api:document-download", args=[document.pk]))
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    assert MARKER.encode() in body
    assert response["Content-Type"] == "application/pdf"
    assert str(document.patient.last_name) not in response["Content-Disposition"]
    assert AccessLog.objects.filter(
        object_id=str(document.pk), user=admin_user, action="export", via="api"
    ).exists()


@pytest.mark.django_db
def test_download_of_another_company_or_without_permission(api_client_for, company, outsider):
    document = DocumentFactory(company=company)
    url = reverse("api:document-download", args=[document.pk])
    assert api_client_for(outsider).get(url).status_code == 404
    clerk = member(company, Role.WAREHOUSE, email="wh@a.test")
    Group.objects.get(name=group_name(Role.WAREHOUSE)).permissions.remove(
        Permission.objects.get(codename="view_document")
    )
    assert api_client_for(clerk).get(url).status_code == 403
    assert not AccessLog.objects.filter(object_id=str(document.pk)).exists()


@pytest.mark.django_db
def test_the_list_is_logged_and_its_queries_do_not_grow(
    api, company, django_assert_max_num_queries
):
    patient = PatientFactory(company=company)
    DocumentFactory(company=company, patient=patient)
    url = reverse("api:document-list")
    # 14 queries, plus the phi.accessed outbox event of record_access (core.events: 3 on
    # SQLite, 4 on PostgreSQL); the point is the second block: no more for six documents.
    with django_assert_max_num_queries(18) as small:
        assert api.get(url).status_code == 200
    for _ in range(5):
        DocumentFactory(company=company, patient=patient)
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = api.get(url)
    assert response.json()["count"] == 6
    assert AccessLog.objects.filter(action="list").count() == 7


@pytest.mark.django_db
def test_fax_intake_routes(
    api, api_client_for, company, outsider, django_capture_on_commit_callbacks
):
    patient = PatientFactory(company=company)
    with django_capture_on_commit_callbacks(execute=False):
        response = api.post(
            reverse("api:faxintake-list"), {"file": upload(pdf_bytes())}, format="multipart"
        )
    assert response.status_code == 201, response.content
    intake = FaxIntake.objects.get(pk=response.json()["id"])
    detail = reverse("api:faxintake-detail", args=[intake.pk])
    assert api_client_for(outsider).get(detail).status_code == 404
    assert api.get(detail).status_code == 200
    assert AccessLog.objects.filter(object_id=str(intake.pk), action="view").exists()

    file_url = reverse("api:faxintake-file", args=[intake.pk])
    assert api_client_for(outsider).post(file_url, {}).status_code == 404
    auditor = member(company, Role.AUDITOR, email="aud2@a.test")
    assert api_client_for(auditor).post(file_url, {}).status_code == 403
    response = api.post(file_url, {"patient": str(patient.pk), "kind": "medical_record"})
    assert response.status_code == 201, response.content
    intake.refresh_from_db()
    assert intake.status == IntakeStatus.FILED
    response = api.post(reverse("api:faxintake-discard", args=[intake.pk]))
    assert response.status_code == 409


@pytest.mark.django_db
def test_signing_request_route(api, api_client_for, company, other_company, outsider, mailoutbox):
    order = OrderFactory(company=company, prescriber_signed_on=None)
    OrderLineFactory(company=company, order=order)
    url = reverse("api:signingrequest-list")
    response = api.post(url, {"order": str(order.pk), "email": "dr@clinic.test"})
    assert response.status_code == 201, response.content
    assert "token" not in response.json()
    assert (
        api_client_for(outsider)
        .get(reverse("api:signingrequest-detail", args=[response.json()["id"]]))
        .status_code
        == 404
    )
    foreign = OrderFactory(company=other_company)
    response = api.post(url, {"order": str(foreign.pk), "email": "dr@clinic.test"})
    assert response.status_code == 400
    assert SigningRequest.objects.count() == 1


@pytest.mark.django_db
def test_legal_hold_routes(api, api_client_for, company, outsider):
    patient = PatientFactory(company=company)
    url = reverse("api:legalhold-list")
    assert api.post(url, {"reason": "x"}).status_code == 400
    response = api.post(url, {"patient": str(patient.pk), "reason": "Matter 17"})
    assert response.status_code == 201, response.content
    hold = LegalHold.objects.get()
    release = reverse("api:legalhold-release", args=[hold.pk])
    assert api_client_for(outsider).post(release).status_code == 404
    assert api.post(release).status_code == 200
    assert api.post(release).status_code == 409


@pytest.mark.django_db
def test_audit_packet_route(api, api_client_for, company, outsider, admin_user):
    from tests.hme.factories import ClaimFactory

    claim = ClaimFactory(company=company)
    document = DocumentFactory(
        company=company, patient=claim.patient, claim=claim, kind=DocumentKind.ABN
    )
    url = reverse("api:auditpacket-detail", args=[claim.pk])
    assert api_client_for(outsider).get(url).status_code == 404
    warehouse = member(company, Role.WAREHOUSE, email="wh2@a.test")
    assert api_client_for(warehouse).get(url).status_code == 403
    response = api.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    import io

    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(response.content))
    assert len(reader.pages) >= 2  # the summary, then the document
    assert claim.number in reader.pages[0].extract_text()
    logged = set(
        AccessLog.objects.filter(user=admin_user, action="export").values_list(
            "object_id", flat=True
        )
    )
    assert {str(claim.pk), str(document.pk)} <= logged


@pytest.mark.django_db
def test_a_document_cannot_be_linked_to_another_patients_order(api, company):
    document = DocumentFactory(company=company)
    order = OrderFactory(company=company)
    url = reverse("api:document-detail", args=[document.pk])
    response = api.patch(url, {"order": str(order.pk)})
    assert response.status_code == 400
    assert "another patient" in str(response.json()["error"]["fields"]["order"])
    own = OrderFactory(company=company, patient=document.patient)
    assert api.patch(url, {"order": str(own.pk)}).status_code == 200
