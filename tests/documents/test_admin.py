"""The documents admin and the panels it adds to the patient, order and claim pages."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.choices import Role
from accounts.roles import group_name
from core.models import AccessLog
from documents.models import Document, FaxIntake, SigningRequest
from documents.services import receive_fax
from tests.admin_base import TenantAdminTests
from tests.clinical.factories import PatientFactory
from tests.dme.factories import OrderFactory, OrderLineFactory
from tests.documents.factories import MARKER, DocumentFactory, pdf_bytes
from tests.factories import member


class TestDocumentAdmin(TenantAdminTests):
    model = Document
    factory = DocumentFactory


@pytest.fixture
def staff(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.mark.django_db
def test_the_upload_form_refuses_a_wrong_type_beside_the_field(staff, company):
    patient = PatientFactory(company=company)
    url = reverse("admin:documents_document_add")
    response = staff.post(
        url,
        {
            "patient": str(patient.pk),
            "kind": "swo",
            "upload": SimpleUploadedFile("order.pdf", b"plain text pretending"),
        },
    )
    assert response.status_code == 200
    assert "upload" in response.context["adminform"].form.errors
    assert not Document.objects.exists()

    response = staff.post(
        url,
        {
            "patient": str(patient.pk),
            "kind": "swo",
            "upload": SimpleUploadedFile("a.pdf", pdf_bytes()),
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    document = Document.objects.get()
    assert document.patient == patient
    assert document.original_name == "a.pdf"


@pytest.mark.django_db
def test_the_patient_and_order_pages_list_documents_with_an_upload_button(staff, company):
    order = OrderFactory(company=company)
    DocumentFactory(company=company, patient=order.patient, order=order)
    page = staff.get(reverse("admin:clinical_patient_change", args=[order.patient.pk]))
    body = page.content.decode()
    assert page.status_code == 200
    assert "Upload a document for this patient" in body
    assert reverse("documents:download", args=[Document.objects.get().pk]) in body
    page = staff.get(reverse("admin:dme_order_change", args=[order.pk]))
    assert f"?patient={order.patient_id}&amp;order={order.pk}" in page.content.decode()


@pytest.mark.django_db
def test_the_patients_documents_panel_is_the_companys_latest_with_the_upload_step(
    client, company, other_company, admin_user
):
    patient = PatientFactory(company=company)
    mine = DocumentFactory(company=company, patient=patient)
    DocumentFactory(company=other_company)
    url = reverse("admin:clinical_patient_change", args=[patient.pk])
    client.force_login(admin_user)
    panel = {p.key: p for p in client.get(url).context["panels"]}["documents"]
    assert [link for link, _ in panel.rows] == [
        reverse("admin:documents_document_change", args=[mine.pk])
    ]
    assert reverse("documents:download", args=[mine.pk]) in str(panel.rows[0][1][-1])
    assert panel.full_url == reverse("admin:documents_document_changelist") + (
        f"?patient={patient.pk}"
    )
    add = reverse("admin:documents_document_add") + f"?patient={patient.pk}"
    assert panel.actions == [("Upload a document for this patient", add)]
    # The auditor reads documents but adds none: the panel without its button.
    client.force_login(member(company, Role.AUDITOR, email="audit@a.test"))
    panel = {p.key: p for p in client.get(url).context["panels"]}["documents"]
    assert len(panel.rows) == 1
    assert panel.actions == []


@pytest.mark.django_db
def test_download_view_permission_tenancy_and_access_log(client, company, outsider, admin_user):
    document = DocumentFactory(company=company)
    url = reverse("documents:download", args=[document.pk])
    assert client.get(url).status_code == 302  # sign in first
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    clerk = member(company, Role.WAREHOUSE, email="wh@a.test")
    Group.objects.get(name=group_name(Role.WAREHOUSE)).permissions.remove(
        Permission.objects.get(codename="view_document")
    )
    client.force_login(clerk)
    assert client.get(url).status_code == 404
    assert not AccessLog.objects.filter(object_id=str(document.pk)).exists()
    client.force_login(admin_user)
    response = client.get(url)
    assert response.status_code == 200
    assert MARKER.encode() in b"".join(response.streaming_content)
    assert (
        AccessLog.objects.filter(object_id=str(document.pk), action="export", via="admin").count()
        == 1
    )


@pytest.mark.django_db
def test_the_order_action_sends_for_signature(
    staff, company, mailoutbox, django_capture_on_commit_callbacks
):
    order = OrderFactory(company=company, prescriber_signed_on=None)
    OrderLineFactory(company=company, order=order)
    url = reverse("admin:dme_order_changelist")
    data = {"action": "send_for_signature", "_selected_action": [str(order.pk)]}
    assert staff.post(url, data).status_code == 200  # the e-mail form
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(url, {**data, "apply": "1", "email": "dr@clinic.test"})
    assert response.status_code == 302
    assert SigningRequest.objects.get().order == order
    assert len(mailoutbox) == 1


@pytest.mark.django_db
def test_the_claim_action_builds_the_audit_packet(staff, company, outsider, admin_user):
    from tests.hme.factories import ClaimFactory

    claim = ClaimFactory(company=company)
    DocumentFactory(company=company, patient=claim.patient, claim=claim)
    url = reverse("admin:hme_claim_changelist")
    response = staff.post(url, {"action": "audit_packet", "_selected_action": [str(claim.pk)]})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert AccessLog.objects.filter(object_id=str(claim.pk), action="export").exists()
    packet = reverse("documents:audit-packet", args=[claim.pk])
    assert staff.get(packet).status_code == 200
    staff.force_login(outsider)
    assert staff.get(packet).status_code == 404


@pytest.mark.django_db
def test_the_intake_worklist_files_a_fax_on_a_clerks_word(client, company, personas):
    client.force_login(personas[Role.INTAKE])
    patient = PatientFactory(company=company)
    intake = receive_fax(company=company, data=pdf_bytes())
    url = reverse("admin:documents_faxintake_changelist")
    assert client.get(url).status_code == 200
    data = {"action": "file_pages", "_selected_action": [str(intake.pk)]}
    assert client.post(url, data).status_code == 200
    response = client.post(
        url, {**data, "apply": "1", "patient": str(patient.pk), "kind": "prescription", "pages": ""}
    )
    assert response.status_code == 302
    document = Document.objects.get()
    assert document.patient == patient
    assert document.intake == intake
    assert FaxIntake.objects.get().status == "filed"
