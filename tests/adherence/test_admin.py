"""The adherence admin: the read-only pages, the upload page, the patient page panels."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.choices import Role
from adherence import services
from adherence.models import AdherenceStatus, UsageImport, UsageNight
from tests.admin_base import TenantAdminTests

from .conftest import good, usage_csv
from .factories import AdherenceStatusFactory, UsageImportFactory, UsageNightFactory

UPLOAD = "admin:adherence_usageimport_upload"


class TestUsageNightAdmin(TenantAdminTests):
    model = UsageNight
    factory = UsageNightFactory
    add_roles = ()
    change_roles = ()


class TestUsageImportAdmin(TenantAdminTests):
    model = UsageImport
    factory = UsageImportFactory
    add_roles = ()
    change_roles = ()


class TestAdherenceStatusAdmin(TenantAdminTests):
    model = AdherenceStatus
    factory = AdherenceStatusFactory
    add_roles = ()
    change_roles = ()


def post_file(client, data, **fields):
    return client.post(
        reverse(UPLOAD),
        {"file": SimpleUploadedFile("export.csv", data, content_type="text/csv"), **fields},
    )


def test_the_upload_page_imports_and_goes_to_the_status(client, personas, rental):
    client.force_login(personas[Role.CLINICIAN])
    assert client.get(reverse(UPLOAD)).status_code == 200
    response = post_file(client, usage_csv(rental.start_date, good(25), serial="23221D0001"))
    status = AdherenceStatus.objects.get(rental=rental)
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "admin:adherence_adherencestatus_change", args=[status.pk]
    )
    assert UsageNight.objects.filter(rental=rental).count() == 25


def test_a_bad_file_shows_the_error_beside_the_field(client, personas, rental):
    client.force_login(personas[Role.ADMINISTRATOR])
    response = post_file(client, usage_csv(rental.start_date, ["5", "x"], serial="23221D0001"))
    assert response.status_code == 200
    assert "line 5: the hours used &#x27;x&#x27; are not a number" in response.content.decode()
    assert response.context["form"].errors["file"]
    assert not UsageNight.objects.exists()


def test_an_unmatched_file_asks_for_the_serial(client, personas, rental):
    client.force_login(personas[Role.ADMINISTRATOR])
    response = post_file(client, usage_csv(rental.start_date, good(2)))
    assert response.status_code == 200
    assert response.context["form"].errors["serial"]


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.WAREHOUSE, Role.BILLING, Role.INTAKE])
def test_the_upload_page_needs_the_add_permission(client, personas, role):
    client.force_login(personas[role])
    assert client.get(reverse(UPLOAD)).status_code == 403


def test_another_company_cannot_import_into_our_rental(client, outsider, rental):
    client.force_login(outsider)
    response = post_file(client, usage_csv(rental.start_date, good(2), serial="23221D0001"))
    assert response.status_code == 200
    assert response.context["form"].errors
    assert not UsageNight.objects.exists()


def test_re_evaluate_action(client, personas, company, rental):
    services.import_usage(company, usage_csv(rental.start_date, good(3), serial="23221D0001"))
    status = AdherenceStatus.objects.get(rental=rental)
    client.force_login(personas[Role.CLINICIAN])
    response = client.post(
        reverse("admin:adherence_adherencestatus_changelist"),
        {"action": "re_evaluate", "_selected_action": [status.pk]},
        follow=True,
    )
    assert "1 rental(s) re-evaluated" in response.content.decode()
    client.force_login(personas[Role.AUDITOR])
    response = client.post(
        reverse("admin:adherence_adherencestatus_changelist"),
        {"action": "re_evaluate", "_selected_action": [status.pk]},
    )
    assert "re-evaluated" not in response.content.decode()


def test_the_patient_page_shows_adherence_and_the_insight(client, personas, company, rental):
    from clinical.choices import InsightType
    from tests.clinical.factories import HealthInsightFactory

    services.import_usage(company, usage_csv(rental.start_date, good(25), serial="23221D0001"))
    HealthInsightFactory(
        company=company,
        patient=rental.patient,
        insight_type=InsightType.ADHERENCE_RISK,
        title="Call the patient: CPAP adherence at risk",
        is_actionable=True,
    )
    client.force_login(personas[Role.CLINICIAN])
    page = client.get(reverse("admin:clinical_patient_change", args=[rental.patient.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "PAP adherence (LCD L33718)" in html
    assert "Call the patient: CPAP adherence at risk" in html
    assert "25 of 30 nights" in html  # the best 30-day window
    assert "Met" in html
