"""Patients: numbers, the one search, duplicate detection, PHI-safe API search."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.choices import Role
from clinical import services
from clinical.choices import PatientStatus
from clinical.models import Patient
from clinical.models.patients import parse_patient_number, parse_search_date
from core.exceptions import Conflict
from core.models import AccessLog
from tests.factories import LocationFactory, member

from .factories import PatientFactory, ProviderFactory


@pytest.fixture
def intake(company):
    return member(company, Role.INTAKE, email="intake-patients@a.test")


# Numbers -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_numbers_patients_per_company(company, other_company):
    first, second = PatientFactory.create_batch(2, company=company)
    elsewhere = PatientFactory(company=other_company)
    assert (first.number, second.number) == ("P-000001", "P-000002")
    assert elsewhere.number == "P-000001"


@pytest.mark.django_db
def test_a_number_is_never_drawn_twice_even_after_a_delete(company):
    first = PatientFactory(company=company)
    first.delete()
    assert PatientFactory(company=company).number == "P-000002"


@pytest.mark.django_db
def test_a_saved_number_does_not_change(company):
    patient = PatientFactory(company=company)
    patient.first_name = "Jo"
    patient.save()
    patient.refresh_from_db()
    assert patient.number == "P-000001"


def test_number_and_date_parsing():
    assert parse_patient_number("p-123") == "P-000123"
    assert parse_patient_number(" P000123 ") == "P-000123"
    assert parse_patient_number("Peters") is None
    assert parse_search_date("1950-01-02") == datetime.date(1950, 1, 2)
    assert parse_search_date("01/02/1950") == datetime.date(1950, 1, 2)
    assert parse_search_date("2/30/1950") is None
    assert parse_search_date("Smith") is None


# Search --------------------------------------------------------------------------------


@pytest.fixture
def people(company):
    return {
        "jane": PatientFactory(company=company, first_name="Jane", last_name="Doe"),
        "john": PatientFactory(company=company, first_name="John", last_name="Doerr"),
        "mary": PatientFactory(company=company, first_name="Mary Ann", last_name="Smith"),
        "dora": PatientFactory(company=company, first_name="Dora", last_name="Adams"),
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("doe", {"jane", "john"}),
        ("DOER", {"john"}),
        ("do", {"jane", "john", "dora"}),
        ("Doe, Ja", {"jane"}),
        ("Doe,", {"jane", "john"}),
        ("Jane Doe", {"jane"}),
        ("Doe Jane", {"jane"}),
        ("Mary Ann Smith", {"mary"}),
        ("oe", set()),  # prefixes only: no infix scans
        ("", {"jane", "john", "mary", "dora"}),
    ],
)
def test_it_searches_names_by_prefix(people, term, expected):
    found = set(Patient.objects.search(term))
    assert found == {people[name] for name in expected}


@pytest.mark.django_db
def test_it_searches_the_exact_patient_number(people):
    jane = people["jane"]
    assert list(Patient.objects.search(jane.number)) == [jane]
    assert list(Patient.objects.search(jane.number.lower().replace("-", ""))) == [jane]
    assert not Patient.objects.search("P-999999").exists()


@pytest.mark.django_db
def test_it_searches_email_exactly(company):
    patient = PatientFactory(company=company, email="Pat@Example.test")
    PatientFactory(company=company)
    assert list(Patient.objects.search("pat@example.test")) == [patient]


@pytest.mark.django_db
def test_active_and_by_prescriber(company):
    prescriber = ProviderFactory(company=company)
    mine = PatientFactory(company=company, primary_prescriber=prescriber)
    PatientFactory(company=company)
    gone = PatientFactory(
        company=company, primary_prescriber=prescriber, status=PatientStatus.DECEASED
    )
    assert set(Patient.objects.by_prescriber(prescriber)) == {mine, gone}
    assert list(Patient.objects.active().by_prescriber(prescriber)) == [mine]


# Duplicates ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_service_refuses_a_possible_duplicate_unless_confirmed(company):
    existing = PatientFactory(company=company, last_name="Doe", dob=datetime.date(1950, 1, 2))
    twin = Patient(company=company, first_name="J", last_name="DOE", dob=existing.dob)
    with pytest.raises(Conflict) as refused:
        services.register_patient(twin)
    assert refused.value.code == "possible_duplicate"
    assert existing.number in refused.value.message
    assert "1950" not in refused.value.message
    assert twin.pk
    assert not Patient.objects.filter(pk=twin.pk).exists()
    services.register_patient(twin, confirm_duplicate=True)
    assert Patient.objects.filter(last_name__iexact="doe").count() == 2


@pytest.mark.django_db
def test_another_companys_patient_is_not_a_duplicate(company, other_company):
    PatientFactory(company=other_company, last_name="Doe", dob=datetime.date(1950, 1, 2))
    patient = Patient(company=company, first_name="J", last_name="Doe", dob="1950-01-02")
    services.register_patient(patient)
    assert patient.number == "P-000001"


@pytest.mark.django_db
def test_the_api_answers_409_with_numbers_only_then_creates_when_confirmed(
    company, intake, api_client_for
):
    existing = PatientFactory(
        company=company, first_name="Ana", last_name="Lima", dob=datetime.date(1944, 4, 4)
    )
    client = api_client_for(intake)
    data = {"first_name": "Anna", "last_name": "lima", "dob": "1944-04-04"}
    response = client.post(reverse("api:patient-list"), data, format="json")
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "possible_duplicate"
    assert existing.number in error["fields"]["confirm_duplicate"][0]
    assert "1944" not in response.content.decode()
    assert "Ana" not in response.content.decode()
    response = client.post(
        reverse("api:patient-list"), {**data, "confirm_duplicate": True}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["number"] == "P-000002"
    assert "confirm_duplicate" not in response.json()


# The API -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_number_is_read_only_in_the_api(company, intake, api_client_for):
    patient = PatientFactory(company=company)
    response = api_client_for(intake).patch(
        reverse("api:patient-detail", args=[patient.pk]), {"number": "P-999999"}, format="json"
    )
    assert response.status_code == 200
    patient.refresh_from_db()
    assert patient.number == "P-000001"


@pytest.mark.django_db
def test_it_refuses_a_future_date_of_birth_and_a_bad_ssn(company, intake, api_client_for):
    client = api_client_for(intake)
    tomorrow = timezone.localdate() + datetime.timedelta(days=2)
    for field, value in [("dob", tomorrow.isoformat()), ("ssn_last4", "12a4")]:
        data = {"first_name": "A", "last_name": "B", "dob": "1950-01-01", field: value}
        response = client.post(reverse("api:patient-list"), data, format="json")
        assert response.status_code == 400
        assert list(response.json()["error"]["fields"]) == [field]


@pytest.mark.django_db
def test_get_search_takes_names_and_numbers(people, company, intake, api_client_for):
    client = api_client_for(intake)
    response = client.get(reverse("api:patient-list"), {"search": "Doe, Ja"})
    assert [row["id"] for row in response.json()["results"]] == [str(people["jane"].pk)]
    response = client.get(reverse("api:patient-list"), {"search": people["dora"].number})
    assert [row["id"] for row in response.json()["results"]] == [str(people["dora"].pk)]


@pytest.mark.django_db
@pytest.mark.parametrize("term", ["1950-01-02", "01/02/1950", "(614) 555-0134", "a@b.test"])
def test_get_search_refuses_phi_in_the_url(people, intake, api_client_for, term):
    response = api_client_for(intake).get(reverse("api:patient-list"), {"search": term})
    assert response.status_code == 400
    assert "POST /api/v1/patients/search/" in response.json()["error"]["fields"]["search"][0]
    assert term not in response.content.decode()


@pytest.mark.django_db
def test_post_search_finds_by_dob_phone_and_names_and_logs_access(
    company, personas, api_client_for
):
    jane = PatientFactory(
        company=company,
        first_name="Jane",
        last_name="Doe",
        dob=datetime.date(1950, 1, 2),
        phone="(614) 555-0134",
    )
    PatientFactory(
        company=company,
        first_name="Jane",
        last_name="Doe",
        dob=datetime.date(1960, 1, 2),
        phone="614 555 0177",
    )
    PatientFactory(company=company, dob=datetime.date(1950, 1, 2), phone="614 555 0199")
    # Billing may read patients but not create them: searching is reading.
    client = api_client_for(personas[Role.BILLING])
    url = reverse("api:patient-search")
    for body in [
        {"q": "1950-01-02", "last_name": "do"},
        {"dob": "1950-01-02", "last_name": "Doe", "first_name": "ja"},
        {"phone": "+1 (614) 555-0134"},
        {"q": "614.555.0134"},
    ]:
        response = client.post(url, body, format="json")
        assert response.status_code == 200, response.content
        assert [row["id"] for row in response.json()["results"]] == [str(jane.pk)], body
    assert AccessLog.objects.filter(object_id=str(jane.pk), action="list").count() == 4
    empty = client.post(url, {}, format="json")
    assert empty.status_code == 400


@pytest.mark.django_db
def test_post_search_needs_the_view_permission(company, api_client_for):
    nobody = member(company, Role.WAREHOUSE, email="warehouse-search@a.test")
    # Warehouse holds clinical.view_patient: allowed. An outsider's search finds nothing.
    response = api_client_for(nobody).post(
        reverse("api:patient-search"), {"q": "doe"}, format="json"
    )
    assert response.status_code == 200


@pytest.mark.django_db
def test_post_search_stays_in_the_company(company, outsider, api_client_for):
    PatientFactory(company=company, dob=datetime.date(1950, 1, 2))
    response = api_client_for(outsider).post(
        reverse("api:patient-search"), {"dob": "1950-01-02"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["results"] == []


@pytest.mark.django_db
def test_filters_status_location_and_prescriber(company, intake, api_client_for):
    north = LocationFactory(company=company)
    prescriber = ProviderFactory(company=company)
    target = PatientFactory(company=company, home_location=north, primary_prescriber=prescriber)
    PatientFactory(company=company, home_location=north)
    PatientFactory(company=company, primary_prescriber=prescriber, status="inactive")
    response = api_client_for(intake).get(
        reverse("api:patient-list"),
        {"home_location": north.pk, "primary_prescriber": prescriber.pk, "status": "active"},
    )
    assert [row["id"] for row in response.json()["results"]] == [str(target.pk)]


@pytest.mark.django_db
def test_a_filter_on_another_companys_row_is_refused(
    company, other_company, intake, api_client_for
):
    theirs = LocationFactory(company=other_company)
    response = api_client_for(intake).get(
        reverse("api:patient-list"), {"home_location": str(theirs.pk)}
    )
    assert response.status_code == 400
    assert "home_location" in response.json()["error"]["fields"]


@pytest.mark.django_db
def test_a_prescriber_of_another_company_is_refused(company, other_company, intake, api_client_for):
    theirs = ProviderFactory(company=other_company)
    response = api_client_for(intake).post(
        reverse("api:patient-list"),
        {"first_name": "A", "last_name": "B", "dob": "1950-01-01", "primary_prescriber": theirs.pk},
        format="json",
    )
    assert response.status_code == 400
    assert "primary_prescriber" in response.json()["error"]["fields"]
