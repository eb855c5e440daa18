"""The patient page tells the whole story (core.admin_panels, cockpit.patient_panels,
clinical.admin_panels, the documents panel): coverage, authorizations, orders,
deliveries, rentals, claims, appointments, records, open alerts, documents; bounded,
linked to the full lists, scoped to the company, at a constant number of queries."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.choices import Role
from cockpit.patient_panels import next_bill_date, rental_month
from core.admin_panels import Column, Panel, register_panel, registered_panels
from dme.choices import OrderStatus, RentalStatus
from dme.services import record_rental_month, return_rental
from hme.choices import AuthorizationStatus
from tests.adherence.factories import AdherenceStatusFactory
from tests.clinical.factories import (
    AppointmentFactory,
    BiometricAlertFactory,
    HealthInsightFactory,
    MedicalRecordFactory,
)
from tests.dme.factories import DeliveryFactory, OrderFactory, RentalFactory, WarehouseFactory
from tests.documents.factories import DocumentFactory
from tests.hme.factories import AuthorizationFactory, ClaimFactory, CoverageFactory, claim_line

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _documents_under_tmp(documents_storage):
    return documents_storage


def page(client, patient):
    response = client.get(reverse("admin:clinical_patient_change", args=[patient.pk]))
    assert response.status_code == 200
    return response


def panels(response):
    return {panel.key: panel for panel in response.context["panels"]}


def history(company, coverage, count):
    patient = coverage.patient
    for n in range(count):
        AuthorizationFactory(
            company=company,
            coverage=coverage,
            status=AuthorizationStatus.APPROVED,
            valid_from=timezone.localdate(),
            valid_to=timezone.localdate() + datetime.timedelta(days=20),
            number="A1",
        )
        order = OrderFactory(company=company, patient=patient, status=OrderStatus.SCHEDULED)
        DeliveryFactory(company=company, order=order)
        RentalFactory(company=company, order_line__order__patient=patient)
        # The claim bills a delivered line of its own order (ClaimFactory), on a date of
        # service of its own (the same service twice is refused as a duplicate, CO-18).
        dos = timezone.localdate() - datetime.timedelta(days=10 + n)
        ClaimFactory(company=company, coverage=coverage, lines=[claim_line(date_of_service=dos)])
        AppointmentFactory(company=company, patient=patient)
        MedicalRecordFactory(company=company, patient=patient, diagnosis_codes=["J449"])
        BiometricAlertFactory(company=company, patient=patient)
        DocumentFactory(company=company, patient=patient)


def adherence(company, patient, count):
    """PAP adherence statuses and adherence-risk insights (adherence's two panels)."""
    for _ in range(count):
        AdherenceStatusFactory(company=company, rental__order_line__order__patient=patient)
        HealthInsightFactory(company=company, patient=patient)


# Orders: the scheduled one, the rental's, and the delivered one the claim bills;
# deliveries: the scheduled one and the claim's order's proof of delivery.
ONE_OF_EACH = {
    "coverage": 1,
    "authorizations": 1,
    "orders": 3,
    "deliveries": 2,
    "rentals": 1,
    # adherence's panels (no usage imported here)
    "pap_adherence": 0,
    "adherence_insights": 0,
    "claims": 1,
    "resupply": 0,  # no PAP supplies in this history
    # clinical's panels and the documents'
    "appointments": 1,
    "medical_records": 1,
    "open_alerts": 1,
    "documents": 1,
}


def test_it_shows_the_whole_story(client, admin_user, company):
    coverage = CoverageFactory(company=company)
    history(company, coverage, 1)
    client.force_login(admin_user)
    shown = panels(page(client, coverage.patient))
    assert list(shown) == [
        "coverage",
        "authorizations",
        "orders",
        "deliveries",
        "rentals",
        "pap_adherence",
        "adherence_insights",
        "claims",
        "resupply",  # registered by the resupply app
        "appointments",  # clinical's own (clinical.admin_panels)
        "medical_records",
        "open_alerts",
        "documents",  # registered by the documents app
    ]
    # The rental's own order and the claim's delivered order are the other orders.
    assert {key: len(panel.rows) for key, panel in shown.items()} == ONE_OF_EACH
    coverage_row = shown["coverage"].rows[0][1]
    assert coverage_row[2] == coverage.member_id_masked
    assert shown["authorizations"].rows[0][1][5] == 20  # days left
    assert shown["rentals"].rows[0][1][3] == "month 1 of 13"
    assert shown["claims"].rows[0][1][5] == shown["claims"].rows[0][1][3]  # balance = charge
    assert shown["orders"].full_url.endswith(f"?patient={coverage.patient.pk}")
    assert client.get(shown["orders"].full_url).status_code == 200
    assert client.get(shown["claims"].full_url).status_code == 200
    assert client.get(shown["rentals"].full_url).status_code == 200
    # Each row opens its own page; "all of them" is the list filtered on the patient.
    for key, name in [
        ("appointments", "clinical_appointment"),
        ("medical_records", "clinical_medicalrecord"),
        ("open_alerts", "clinical_biometricalert"),
        ("documents", "documents_document"),
    ]:
        assert shown[key].full_url.endswith(f"?patient={coverage.patient.pk}"), key
        listed = list(client.get(shown[key].full_url).context["cl"].result_list)
        assert len(listed) == 1, key
        assert shown[key].rows[0][0] == reverse(f"admin:{name}_change", args=[listed[0].pk])


def test_each_list_is_bounded_and_the_queries_do_not_grow(client, admin_user, company):
    short, long = CoverageFactory(company=company), CoverageFactory(company=company)
    history(company, short, 1)
    history(company, long, 12)
    # Every panel with rows on both pages: a column reading a column its query did
    # not load would cost a query per row.
    adherence(company, short.patient, 1)
    adherence(company, long.patient, 12)
    client.force_login(admin_user)
    page(client, short.patient)  # warm caches (permissions, content types)
    with CaptureQueriesContext(connection) as one:
        page(client, short.patient)
    with CaptureQueriesContext(connection) as many:
        shown = panels(page(client, long.patient))
    assert len(many) == len(one), [q["sql"] for q in many.captured_queries]
    for key, panel in shown.items():
        if key != "resupply":  # no PAP supplies in this history
            assert len(panel.rows) == (1 if key == "coverage" else 10), key
            assert panel.more == (key != "coverage"), key
    assert not panels(page(client, short.patient))["orders"].more


def test_it_shows_only_the_companys_rows(client, admin_user, company, other_company):
    coverage = CoverageFactory(company=company)
    history(company, coverage, 1)
    client.force_login(admin_user)
    # Rows of another company pointing at this patient are never shown (for_user).
    foreign = CoverageFactory(company=other_company)
    history(other_company, foreign, 1)
    shown = panels(page(client, coverage.patient))
    assert {key: len(panel.rows) for key, panel in shown.items()} == ONE_OF_EACH


def test_another_companys_patient_is_a_404(client, outsider, company):
    coverage = CoverageFactory(company=company)
    client.force_login(outsider)
    url = reverse("admin:clinical_patient_change", args=[coverage.patient.pk])
    assert client.get(url).status_code == 404


def test_a_role_sees_the_panels_it_may(client, personas, company):
    coverage = CoverageFactory(company=company)
    client.force_login(personas[Role.CLINICIAN])
    shown = panels(page(client, coverage.patient))
    assert "claims" not in shown or client.get(shown["claims"].full_url).status_code == 200


def test_a_higher_app_registers_its_panel_later(client, admin_user, company):
    # How documents or holds will add theirs: a panel registered for the patient page.
    panel = Panel(
        model="clinical.patient",
        key="zz-test",
        title="Registered later",
        rows=lambda request, patient: (
            type(patient).objects.for_user(request.user).filter(pk=patient.pk)
        ),
        columns=[Column("Number", lambda p: p.number)],
        order=999,
    )
    register_panel(panel)
    try:
        coverage = CoverageFactory(company=company)
        client.force_login(admin_user)
        shown = panels(page(client, coverage.patient))
        assert shown["zz-test"].rows[0][1] == [coverage.patient.number]
    finally:
        from core import admin_panels

        del admin_panels._PANELS["clinical.patient"]["zz-test"]
    assert "zz-test" not in [p.key for p in registered_panels("clinical.patient")]


def test_rental_month_and_next_bill_date_follow_the_rental_services(company):
    start = datetime.date(2026, 1, 31)
    rental = RentalFactory(company=company, start_date=start)
    assert next_bill_date(rental) == start
    for _ in range(3):
        record_rental_month(rental)
    rental.refresh_from_db()
    assert rental_month(rental) == "month 4 of 13"
    assert next_bill_date(rental) == datetime.date(2026, 4, 30)
    for _ in range(10):
        record_rental_month(rental)
    rental.refresh_from_db()
    assert rental.status == RentalStatus.CAPPED
    assert next_bill_date(rental) is None


def test_next_bill_date_of_a_rental_that_continues_an_earlier_one(company):
    """After a short break in need the count continues (42 CFR 414.230): the new
    rental's month 1 is month 4 of the period, billed on its own start date, which is
    what Rental.next_bill_date says and months_billed alone cannot."""
    first = RentalFactory(company=company, start_date=datetime.date(2026, 1, 10))
    for _ in range(3):
        record_rental_month(first)
    return_rental(
        first,
        returned_on=datetime.date(2026, 4, 1),
        location=WarehouseFactory(company=company),
    )
    again = RentalFactory(
        company=company,
        order_line__order__patient=first.patient,
        start_date=datetime.date(2026, 4, 11),
    )
    record_rental_month(again)
    again.refresh_from_db()
    assert again.continues == first
    assert rental_month(again) == "month 5 of 13"
    assert next_bill_date(again) == datetime.date(2026, 5, 11)
