"""The patient's access report (45 CFR 164.528): who looked at the patient's records,
when, how and why, as CSV and PDF, from the API and the patient's admin page."""

import csv
import io

import pytest
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.choices import Role
from core.access import record_access
from core.access_report import report_rows
from core.choices import AccessAction, AccessVia, ComplianceKind
from core.models import AccessLog, ComplianceEvent
from tests.clinical.factories import PatientFactory
from tests.dme.factories import OrderFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def patient(company):
    return PatientFactory(company=company)


@pytest.fixture
def looked_at(company, personas, patient):
    """The clinician opened the patient (admin) and one of their orders (API, with a
    purpose); someone else's patient was opened too."""
    order = OrderFactory(company=company, patient=patient)
    request = RequestFactory().get("/", HTTP_X_PURPOSE="treatment")
    request.user = personas[Role.CLINICIAN]
    record_access(request, [patient], via=AccessVia.ADMIN, action=AccessAction.VIEW, fields=["dob"])
    record_access(request, [order], via=AccessVia.API, action=AccessAction.VIEW)
    record_access(
        request, [PatientFactory(company=company)], via=AccessVia.API, action=AccessAction.VIEW
    )
    return order


def report(client, patient, fmt="csv"):
    return client.get(f"/api/v1/patients/{patient.pk}/access-report/", {"as": fmt})


def test_the_csv_lists_every_look_at_the_patient_and_their_records(
    api_client_for, personas, patient, looked_at
):
    response = report(api_client_for(personas[Role.AUDITOR]), patient)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv"
    assert f"access-report-{patient.pk}-" in response["Content-Disposition"]
    header, *rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert header[:4] == ["When (UTC)", "Who", "Action", "How"]
    assert {(row[4], row[5]) for row in rows} == {
        ("patient", str(patient.pk)),
        ("order", str(looked_at.pk)),
    }
    assert {row[1] for row in rows} == {"clinician@a.test"}
    assert {row[6] for row in rows} == {"treatment"}


def test_the_pdf_is_a_pdf(api_client_for, personas, patient, looked_at):
    response = report(api_client_for(personas[Role.ADMINISTRATOR]), patient, "pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")


def test_exporting_it_is_logged_as_a_phi_export(api_client_for, personas, company, patient):
    auditor = personas[Role.AUDITOR]
    assert report(api_client_for(auditor), patient).status_code == 200
    row = AccessLog.objects.get(action=AccessAction.EXPORT)
    assert (row.object_id, row.user) == (str(patient.pk), auditor)
    event = ComplianceEvent.objects.get(kind=ComplianceKind.PHI_EXPORT)
    assert (event.company, event.target_id, event.detail["format"]) == (
        company,
        str(patient.pk),
        "csv",
    )


def test_another_companys_patient_is_a_404(api_client_for, outsider, patient):
    assert report(api_client_for(outsider), patient).status_code == 404
    assert not ComplianceEvent.objects.exists()


def test_staff_who_may_not_read_the_access_log_are_refused(api_client_for, personas, patient):
    assert report(api_client_for(personas[Role.INTAKE]), patient).status_code == 403


def test_an_unknown_format_is_a_400(api_client_for, personas, patient):
    response = report(api_client_for(personas[Role.AUDITOR]), patient, "xlsx")
    assert response.status_code == 400
    assert "as" in response.json()["error"]["fields"]


def test_the_admin_buttons_download_it(client, personas, patient, looked_at, outsider):
    client.force_login(personas[Role.AUDITOR])
    page = client.get(reverse("admin:clinical_patient_change", args=[patient.pk]))
    csv_url = reverse("admin:clinical_patient_access_report", args=[patient.pk, "csv"])
    pdf_url = reverse("admin:clinical_patient_access_report", args=[patient.pk, "pdf"])
    assert csv_url in page.content.decode()
    assert str(looked_at.pk) in client.get(csv_url).content.decode()
    assert client.get(pdf_url).content.startswith(b"%PDF")
    client.force_login(outsider)
    assert client.get(csv_url).status_code == 404


def test_the_report_costs_the_same_queries_for_1_and_20_records(company, personas, patient):
    request = RequestFactory().get("/")
    request.user = personas[Role.CLINICIAN]
    record_access(
        request, [OrderFactory(company=company, patient=patient)], via="api", action="view"
    )
    with CaptureQueriesContext(connection) as one:
        report_rows(patient)
    orders = [OrderFactory(company=company, patient=patient) for _ in range(19)]
    record_access(request, orders, via="api", action="view")
    with CaptureQueriesContext(connection) as many:
        rows = report_rows(patient)
    assert len(rows) == 20
    assert len(many) == len(one)
