"""Emergency access, "break the glass" (45 CFR 164.312(a)(2)(ii)): a user narrowed to
some locations sees a patient's records at other locations only with a grant in force,
asked for with a reason, logged and listed for the Auditor."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.choices import Role
from accounts.models import Membership
from core.choices import AccessAction, ComplianceKind
from core.models import AccessLog, ComplianceEvent, EmergencyAccess
from tests.clinical.factories import PatientFactory
from tests.dme.factories import OrderFactory, WarehouseFactory
from tests.factories import member

pytestmark = pytest.mark.django_db

REASON = "Patient admitted at the north clinic, needs oxygen now"


@pytest.fixture
def here(company):
    return WarehouseFactory(company=company, name="Here")


@pytest.fixture
def there(company):
    return WarehouseFactory(company=company, name="There")


@pytest.fixture
def narrowed(company, here):
    user = member(company, Role.WAREHOUSE, email="narrowed@a.test")
    Membership.objects.get(user=user).locations.add(here)
    return user


@pytest.fixture
def patient(company):
    return PatientFactory(company=company)


@pytest.fixture
def far_order(company, patient, there):
    return OrderFactory(company=company, patient=patient, location=there)


def ask(client, patient, reason=REASON):
    return client.post(
        f"/api/v1/patients/{patient.pk}/emergency-access/", {"reason": reason}, format="json"
    )


def test_without_a_grant_the_other_locations_record_is_a_404(api_client_for, narrowed, far_order):
    assert api_client_for(narrowed).get(f"/api/v1/orders/{far_order.pk}/").status_code == 404


def test_with_a_grant_it_is_visible_logged_and_recorded(
    api_client_for, company, narrowed, patient, far_order
):
    client = api_client_for(narrowed)
    response = ask(client, patient)
    assert response.status_code == 201, response.json()
    grant = EmergencyAccess.objects.get()
    assert response.json()["id"] == grant.pk
    assert (grant.user, grant.patient_id, grant.company) == (narrowed, patient.pk, company)
    assert grant.expires_at - grant.granted_at == datetime.timedelta(minutes=60)
    assert client.get(f"/api/v1/orders/{far_order.pk}/").status_code == 200
    assert str(far_order.pk) in {
        row["id"] for row in client.get("/api/v1/orders/").json()["results"]
    }
    logged = AccessLog.objects.get(action=AccessAction.EMERGENCY)
    assert (logged.object_id, logged.purpose) == (str(patient.pk), REASON)
    event = ComplianceEvent.objects.get(kind=ComplianceKind.EMERGENCY_ACCESS)
    assert (event.company, event.actor, event.target_id) == (company, narrowed, str(patient.pk))
    assert REASON not in str(event.detail)


def test_after_expiry_it_is_a_404_again(api_client_for, narrowed, patient, far_order):
    client = api_client_for(narrowed)
    assert ask(client, patient).status_code == 201
    past = timezone.now() - datetime.timedelta(minutes=1)
    EmergencyAccess.objects.update(granted_at=past - datetime.timedelta(hours=1), expires_at=past)
    assert client.get(f"/api/v1/orders/{far_order.pk}/").status_code == 404


def test_the_grant_covers_that_patient_only(api_client_for, company, narrowed, patient, there):
    other = OrderFactory(company=company, location=there)
    client = api_client_for(narrowed)
    assert ask(client, patient).status_code == 201
    assert client.get(f"/api/v1/orders/{other.pk}/").status_code == 404


def test_another_companys_patient_is_a_404(api_client_for, narrowed, other_company):
    theirs = PatientFactory(company=other_company)
    assert ask(api_client_for(narrowed), theirs).status_code == 404
    assert not EmergencyAccess.objects.exists()


def test_a_reason_is_required(api_client_for, narrowed, patient):
    response = ask(api_client_for(narrowed), patient, reason="because")
    assert response.status_code == 400
    assert "reason" in response.json()["error"]["fields"]
    assert not EmergencyAccess.objects.exists()


def test_a_user_who_sees_every_location_needs_none(api_client_for, personas, patient):
    response = ask(api_client_for(personas[Role.CLINICIAN]), patient)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "not_needed"


def test_the_admin_button_grants_it(client, narrowed, patient, far_order):
    client.force_login(narrowed)
    url = reverse("admin:clinical_patient_emergency_access", args=[patient.pk])
    page = client.get(reverse("admin:clinical_patient_change", args=[patient.pk]))
    assert url in page.content.decode()
    order_page = reverse("admin:dme_order_change", args=[far_order.pk])
    assert client.get(order_page).status_code == 404
    refused = client.post(url, {"reason": "short"})
    assert refused.status_code == 200
    assert refused.context["error"]
    assert client.post(url, {"reason": REASON}).status_code == 302
    assert client.get(order_page).status_code == 200


def test_the_admin_button_on_another_companys_patient_is_a_404(client, narrowed, other_company):
    theirs = PatientFactory(company=other_company)
    client.force_login(narrowed)
    url = reverse("admin:clinical_patient_emergency_access", args=[theirs.pk])
    assert client.post(url, {"reason": REASON}).status_code == 404


def test_the_auditor_lists_the_grants_of_their_company_only(
    client, api_client_for, personas, narrowed, patient, outsider
):
    assert ask(api_client_for(narrowed), patient).status_code == 201
    grant = EmergencyAccess.objects.get()
    client.force_login(personas[Role.AUDITOR])
    page = client.get(reverse("admin:core_emergencyaccess_changelist"))
    assert list(page.context["cl"].result_list) == [grant]
    client.force_login(outsider)
    page = client.get(reverse("admin:core_emergencyaccess_changelist"))
    assert list(page.context["cl"].result_list) == []
    change = reverse("admin:core_emergencyaccess_change", args=[grant.pk])
    assert client.get(change).status_code == 404
