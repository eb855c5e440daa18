"""The clinical admin: constant-query changelists, the patient page with its clinical
context (access-logged), the one patient search, duplicate confirmation, booking checks,
actions that call the services, and sidebar filters limited to the company."""

import datetime

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.choices import Role
from clinical.choices import AlertStatus, AppointmentStatus
from clinical.models import Appointment, Patient, Provider
from core.models import AccessLog
from tests.factories import LocationFactory, member

from .factories import (
    AIModelFactory,
    AppointmentFactory,
    BiometricAlertFactory,
    DiagnosisFactory,
    DigitalTwinFactory,
    HealthInsightFactory,
    MedicalRecordFactory,
    PatientFactory,
    PredictionLogFactory,
    ProviderFactory,
)

CHANGELISTS = {
    "patient": PatientFactory,
    "provider": ProviderFactory,
    "appointment": AppointmentFactory,
    "medicalrecord": MedicalRecordFactory,
    "diagnosis": DiagnosisFactory,
    "biometricalert": BiometricAlertFactory,
    "aimodel": AIModelFactory,
    "predictionlog": PredictionLogFactory,
    "healthinsight": HealthInsightFactory,
    "digitaltwin": DigitalTwinFactory,
}


@pytest.fixture
def staff(client, admin_user):
    client.force_login(admin_user)
    return client


def changelist(name):
    return reverse(f"admin:clinical_{name}_changelist")


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(CHANGELISTS))
def test_changelists_run_a_constant_number_of_queries_from_1_to_50_rows(staff, company, name):
    factory = CHANGELISTS[name]
    factory(company=company)
    with CaptureQueriesContext(connection) as one_row:
        response = staff.get(changelist(name))
    assert response.status_code == 200
    assert response.context["cl"].result_count == 1
    factory.create_batch(49, company=company)
    with CaptureQueriesContext(connection) as fifty_rows:
        response = staff.get(changelist(name))
    assert response.context["cl"].result_count == 50
    assert len(response.context["cl"].result_list) == 50
    assert len(fifty_rows) == len(one_row), [q["sql"] for q in fifty_rows.captured_queries]


# The patient page ------------------------------------------------------------------------


@pytest.fixture
def patient_with_history(company):
    patient = PatientFactory(company=company, first_name="Ada", last_name="Lovelace")
    DiagnosisFactory(company=company, patient=patient, code="G47.33")
    AppointmentFactory(company=company, patient=patient)
    MedicalRecordFactory(company=company, patient=patient, diagnosis_codes=["J449"])
    BiometricAlertFactory(company=company, patient=patient)
    return patient


@pytest.mark.django_db
def test_the_patient_page_shows_clinical_context_and_logs_the_view(
    staff, admin_user, patient_with_history
):
    resolved = BiometricAlertFactory(
        company=patient_with_history.company, patient=patient_with_history, metric="ahi"
    )
    from clinical import services

    services.resolve_alert(resolved, admin_user)
    url = reverse("admin:clinical_patient_change", args=[patient_with_history.pk])
    response = staff.get(url)
    assert response.status_code == 200
    content = response.content.decode()
    assert "G47.33" in content  # diagnosis inline
    assert "J44.9" in content  # records panel, codes shown with dots
    assert "Equipment setup" in content  # appointments panel
    assert "SpO2" in content  # the open alert
    assert "AHI" not in content  # the resolved one is not "open"
    assert f"?patient={patient_with_history.pk}" in content  # full-history links
    assert "P-000001" in content
    logged = AccessLog.objects.get(object_id=str(patient_with_history.pk))
    assert (logged.user, logged.via, logged.action) == (admin_user, "admin", "view")


@pytest.mark.django_db
def test_the_patient_page_query_count_does_not_grow_with_history(
    staff, company, patient_with_history
):
    url = reverse("admin:clinical_patient_change", args=[patient_with_history.pk])
    with CaptureQueriesContext(connection) as short:
        assert staff.get(url).status_code == 200
    for _ in range(10):
        AppointmentFactory(company=company, patient=patient_with_history)
        MedicalRecordFactory(company=company, patient=patient_with_history)
        BiometricAlertFactory(company=company, patient=patient_with_history)
        DiagnosisFactory(company=company, patient=patient_with_history, is_active=False)
    with CaptureQueriesContext(connection) as long:
        assert staff.get(url).status_code == 200
    assert len(long) == len(short), [q["sql"] for q in long.captured_queries]


def panels(response):
    return {panel.key: panel for panel in response.context["panels"]}


@pytest.mark.django_db
def test_the_patient_page_shows_only_recent_and_upcoming_appointments(
    staff, company, patient_with_history
):
    old = AppointmentFactory(
        company=company,
        patient=patient_with_history,
        starts_at=timezone.now() - datetime.timedelta(days=400),
        ends_at=timezone.now() - datetime.timedelta(days=400, hours=-1),
    )
    recent = AppointmentFactory(
        company=company,
        patient=patient_with_history,
        starts_at=timezone.now() - datetime.timedelta(days=30),
        ends_at=timezone.now() - datetime.timedelta(days=30, hours=-1),
    )
    url = reverse("admin:clinical_patient_change", args=[patient_with_history.pk])
    shown = panels(staff.get(url))["appointments"]
    upcoming = Appointment.objects.get(patient=patient_with_history, starts_at__gt=timezone.now())
    # Latest first: the upcoming one, then last month's; not the one of 400 days ago.
    assert [link for link, _ in shown.rows] == [
        reverse("admin:clinical_appointment_change", args=[appointment.pk])
        for appointment in (upcoming, recent)
    ]
    assert old.pk not in {link.split("/")[-3] for link, _ in shown.rows}


@pytest.mark.django_db
def test_the_clinical_panels_show_the_companys_rows_only(
    staff, company, other_company, patient_with_history
):
    # Rows of another company that point at this patient (bad data) never show.
    AppointmentFactory(company=other_company, patient=patient_with_history)
    MedicalRecordFactory(company=other_company, patient=patient_with_history)
    BiometricAlertFactory(company=other_company, patient=patient_with_history)
    url = reverse("admin:clinical_patient_change", args=[patient_with_history.pk])
    shown = panels(staff.get(url))
    assert {
        key: len(shown[key].rows) for key in ("appointments", "medical_records", "open_alerts")
    } == {
        "appointments": 1,
        "medical_records": 1,
        "open_alerts": 1,
    }


@pytest.mark.django_db
def test_a_location_limited_user_sees_the_appointments_of_their_locations(
    client, company, patient_with_history
):
    here = Appointment.objects.get(patient=patient_with_history).location
    AppointmentFactory(company=company, patient=patient_with_history)  # another location
    clerk = member(company, Role.INTAKE, email="branch-clerk@a.test")
    clerk.memberships.get().locations.set([here])
    client.force_login(clerk)
    url = reverse("admin:clinical_patient_change", args=[patient_with_history.pk])
    response = client.get(url)
    assert response.status_code == 200
    rows = panels(response)["appointments"].rows
    assert [values[4] for _, values in rows] == [str(here)]


@pytest.mark.django_db
@pytest.mark.parametrize("role", list(Role))
def test_every_role_opens_the_patient_page_with_the_panels_it_may_see(
    client, company, patient_with_history, role
):
    user = member(company, role, email=f"page-{role}@a.test")
    client.force_login(user)
    url = reverse("admin:clinical_patient_change", args=[patient_with_history.pk])
    response = client.get(url)
    assert response.status_code == 200
    shown = panels(response)
    for key, model in [
        ("appointments", "appointment"),
        ("medical_records", "medicalrecord"),
        ("open_alerts", "biometricalert"),
    ]:
        assert (key in shown) == user.has_perm(f"clinical.view_{model}"), (role, key)
        if key in shown:
            assert len(shown[key].rows) == 1


@pytest.mark.django_db
def test_an_inline_diagnosis_is_saved_in_the_patients_company(staff, company):
    patient = PatientFactory(company=company)
    url = reverse("admin:clinical_patient_change", args=[patient.pk])
    form = staff.get(url).context["adminform"].form
    data = {
        name: value
        for name, value in form.initial.items()
        if value is not None and name not in {"primary_prescriber", "home_location"}
    }
    data["dob"] = "1950-01-02"
    formsets = {
        "diagnoses-TOTAL_FORMS": "1",
        "diagnoses-INITIAL_FORMS": "0",
        "diagnoses-0-code": "e11.65",
        "diagnoses-0-description": "Type 2 diabetes",
        "diagnoses-0-is_active": "on",
    }
    response = staff.post(url, {**data, **formsets})
    assert response.status_code == 302, response.context["errors"] if response.context else ""
    diagnosis = patient.diagnoses.get()
    assert diagnosis.company_id == company.pk
    assert diagnosis.code == "E1165"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name", ["appointment", "medicalrecord", "biometricalert", "healthinsight", "predictionlog"]
)
def test_the_full_history_links_filter_by_patient(staff, company, name):
    mine, _ = (CHANGELISTS[name](company=company) for _ in range(2))
    response = staff.get(changelist(name), {"patient": str(mine.patient_id)})
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [mine]


# Search --------------------------------------------------------------------------------


@pytest.fixture
def two_patients(company):
    return (
        PatientFactory(
            company=company,
            first_name="Jane",
            last_name="Doe",
            dob=datetime.date(1950, 1, 2),
            phone="(614) 555-0134",
        ),
        PatientFactory(
            company=company,
            first_name="Sam",
            last_name="Roe",
            dob=datetime.date(1961, 5, 6),
            phone="(614) 555-0100",
        ),
    )


@pytest.mark.django_db
# Dates of birth and phones are searched through the POSTed find form
# (tests/clinical/test_admin_search.py), never through the URL.
@pytest.mark.parametrize("term", ["doe", "Doe, J", "Jane Doe", "P-000001"])
def test_the_patient_changelist_search(staff, two_patients, term):
    response = staff.get(changelist("patient"), {"q": term})
    assert list(response.context["cl"].result_list) == [two_patients[0]]


@pytest.mark.django_db
def test_patient_linked_lists_search_by_patient(staff, company, two_patients):
    mine = AppointmentFactory(company=company, patient=two_patients[0])
    AppointmentFactory(company=company, patient=two_patients[1])
    for term in ("Doe", "P-000001"):
        response = staff.get(changelist("appointment"), {"q": term})
        assert list(response.context["cl"].result_list) == [mine]


@pytest.mark.django_db
def test_diagnoses_search_by_code_or_patient(staff, company, two_patients):
    osa = DiagnosisFactory(company=company, patient=two_patients[1], code="G47.33")
    copd = DiagnosisFactory(company=company, patient=two_patients[0], code="J44.9")
    assert list(staff.get(changelist("diagnosis"), {"q": "g47.33"}).context["cl"].result_list) == [
        osa
    ]
    assert list(staff.get(changelist("diagnosis"), {"q": "Doe"}).context["cl"].result_list) == [
        copd
    ]


@pytest.mark.django_db
def test_patient_autocomplete_uses_the_same_search(staff, two_patients):
    response = staff.get(
        reverse("admin:autocomplete"),
        {
            "app_label": "clinical",
            "model_name": "appointment",
            "field_name": "patient",
            "term": "Jane Doe",
        },
    )
    assert response.status_code == 200
    # Staff pick by name: the autocomplete labels patients with display_name (str() is
    # the number only).
    assert response.json()["results"] == [
        {"id": str(two_patients[0].pk), "text": "Doe, Jane (P-000001)"}
    ]


@pytest.mark.django_db
def test_autocomplete_never_offers_another_companys_patients(
    client, company, other_company, outsider
):
    PatientFactory(company=company, last_name="Doe")
    client.force_login(outsider)
    response = client.get(
        reverse("admin:autocomplete"),
        {
            "app_label": "clinical",
            "model_name": "appointment",
            "field_name": "patient",
            "term": "d",
        },
    )
    assert response.json()["results"] == []


# Adding a patient ----------------------------------------------------------------------


def patient_form(**overrides):
    data = {
        "first_name": "Jane",
        "last_name": "Doe",
        "dob": "1950-01-02",
        "sex": "F",
        "status": "active",
        "diagnoses-TOTAL_FORMS": "0",
        "diagnoses-INITIAL_FORMS": "0",
    }
    return {**data, **overrides}


@pytest.mark.django_db
def test_the_add_form_warns_of_a_duplicate_until_confirmed(staff, company, two_patients):
    url = reverse("admin:clinical_patient_add")
    response = staff.get(url)
    assert "confirm_duplicate" in response.content.decode()
    response = staff.post(url, patient_form(last_name="DOE"))
    assert response.status_code == 200
    assert "Possible duplicate: P-000001" in response.content.decode()
    assert Patient.objects.count() == 2
    response = staff.post(url, patient_form(confirm_duplicate="on"))
    assert response.status_code == 302, response.context["errors"]
    created = Patient.objects.get(number="P-000003")
    assert created.company_id == company.pk
    response = staff.post(url, patient_form(first_name="New", last_name="Person"))
    assert response.status_code == 302


# Appointments ----------------------------------------------------------------------------


def appointment_form(patient, provider, location, start, minutes=60):
    end = start + datetime.timedelta(minutes=minutes)
    local_start, local_end = timezone.localtime(start), timezone.localtime(end)
    return {
        "patient": str(patient.pk),
        "provider": str(provider.pk),
        "location": str(location.pk),
        "kind": "setup",
        "starts_at_0": local_start.strftime("%Y-%m-%d"),
        "starts_at_1": local_start.strftime("%H:%M:%S"),
        "ends_at_0": local_end.strftime("%Y-%m-%d"),
        "ends_at_1": local_end.strftime("%H:%M:%S"),
    }


@pytest.mark.django_db
def test_the_admin_refuses_a_double_booking_in_the_form(staff, company):
    provider = ProviderFactory(company=company, first_name="Avery", last_name="Okafor")
    patient, location = PatientFactory(company=company), LocationFactory(company=company)
    start = timezone.now().replace(minute=0, second=0, microsecond=0) + datetime.timedelta(days=5)
    url = reverse("admin:clinical_appointment_add")
    response = staff.post(url, appointment_form(patient, provider, location, start))
    assert response.status_code == 302
    response = staff.post(
        url,
        appointment_form(
            PatientFactory(company=company),
            provider,
            location,
            start + datetime.timedelta(minutes=30),
        ),
    )
    assert response.status_code == 200
    assert "Avery Okafor is already booked from" in response.content.decode()
    assert Appointment.objects.count() == 1
    assert Appointment.objects.get().status == AppointmentStatus.SCHEDULED


@pytest.mark.django_db
def test_admin_actions_call_the_services(staff, company):
    now = timezone.now()
    past = AppointmentFactory(
        company=company, starts_at=now - datetime.timedelta(hours=2), ends_at=now
    )
    future = AppointmentFactory(company=company)
    response = staff.post(
        changelist("appointment"),
        {"action": "complete", ACTION_CHECKBOX_NAME: [str(past.pk), str(future.pk)]},
        follow=True,
    )
    past.refresh_from_db()
    future.refresh_from_db()
    assert past.status == AppointmentStatus.COMPLETED
    assert future.status == AppointmentStatus.SCHEDULED
    messages = [str(m) for m in response.context["messages"]]
    assert "1 completed." in messages
    assert any("has not started yet" in m for m in messages)


@pytest.mark.django_db
def test_alert_actions_record_who(staff, admin_user, company):
    alert = BiometricAlertFactory(company=company)
    staff.post(
        changelist("biometricalert"),
        {"action": "acknowledge", ACTION_CHECKBOX_NAME: [str(alert.pk)]},
    )
    alert.refresh_from_db()
    assert alert.status == AlertStatus.ACKNOWLEDGED
    assert alert.acknowledged_by == admin_user


@pytest.mark.django_db
def test_provider_verification_action(staff, company):
    provider = ProviderFactory(company=company)
    staff.post(
        changelist("provider"), {"action": "verify", ACTION_CHECKBOX_NAME: [str(provider.pk)]}
    )
    provider.refresh_from_db()
    assert provider.is_verified
    assert provider.verified_at


@pytest.mark.django_db
def test_predictions_are_read_only_in_the_admin(staff, company):
    prediction = PredictionLogFactory(company=company)
    response = staff.get(reverse("admin:clinical_predictionlog_change", args=[prediction.pk]))
    assert response.status_code == 200
    assert not response.context["has_change_permission"]
    assert staff.get(reverse("admin:clinical_predictionlog_add")).status_code == 403


@pytest.mark.django_db
def test_an_insight_action_is_recorded_from_its_page(staff, admin_user, company):
    insight = HealthInsightFactory(company=company)
    url = reverse("admin:clinical_healthinsight_change", args=[insight.pk])
    form = staff.get(url).context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    data.update(
        patient=str(insight.patient_id),
        data='{"nights_below_4h": 5}',
        is_actionable="on",
        record_action="Called; mask refit booked.",
    )
    data.pop("model", None)
    data.pop("expires_at", None)
    response = staff.post(url, data)
    assert response.status_code == 302, response.context["errors"] if response.context else ""
    insight.refresh_from_db()
    assert insight.action_taken == "Called; mask refit booked."
    assert insight.action_taken_by == admin_user


# Tenancy -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_sidebar_filters_list_only_the_companys_locations_and_prescribers(
    staff, company, other_company
):
    LocationFactory(company=company, name="Our Clinic")
    LocationFactory(company=other_company, name="Their Clinic")
    ProviderFactory(company=company, last_name="Ours")
    ProviderFactory(company=other_company, last_name="Theirs")
    PatientFactory(company=company)
    content = staff.get(changelist("patient")).content.decode()
    assert "Our Clinic" in content
    assert "Ours" in content
    assert "Their Clinic" not in content
    assert "Theirs" not in content


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(CHANGELISTS))
def test_another_companys_records_are_invisible(client, company, outsider, name):
    obj = CHANGELISTS[name](company=company)
    client.force_login(outsider)
    assert client.get(changelist(name)).context["cl"].result_count == 0
    response = client.get(reverse(f"admin:clinical_{name}_change", args=[obj.pk]))
    assert response.status_code in (302, 404)


@pytest.mark.django_db
def test_a_role_without_clinical_rights_sees_no_records(client, company):
    warehouse = member(company, Role.WAREHOUSE, email="warehouse-admin@a.test")
    PatientFactory(company=company)
    client.force_login(warehouse)
    # Warehouse reads patients (to deliver) but not their medical records.
    assert client.get(changelist("patient")).status_code == 200
    assert client.get(changelist("medicalrecord")).status_code == 403
    assert Provider.objects.count() == 0
