"""The admin's coverages list at scale: it is ordered by the patient's name
(``Coverage.Meta``); unsearched, it names the company on the patient too
(``CoverageAdmin.get_search_results``), so PostgreSQL walks the patients' name index for
a page instead of sorting every patient of every company (docs/benchmarks.md). A
coverage whose patient is another company's (data the check
``hme.coverage_patient_company`` reports) is not listed."""

import datetime

import pytest
from django.db import connection
from django.urls import reverse

from clinical.models import Patient
from hme.models import Coverage
from tests.clinical.factories import PatientFactory
from tests.hme.factories import CoverageFactory, PayerFactory

pytestmark = pytest.mark.django_db

COVERAGES = "admin:hme_coverage_changelist"


def listed(client, **params):
    response = client.get(reverse(COVERAGES), params)
    assert response.status_code == 200
    return response.context["cl"]


def test_the_list_shows_only_coverages_of_the_companys_patients(
    client, admin_user, company, other_company
):
    ours = CoverageFactory(company=company, patient__last_name="Smith")
    crossed = CoverageFactory(company=company)
    # Damaged data: the coverage is ours, its patient another company's.
    Coverage.objects.filter(pk=crossed.pk).update(patient=PatientFactory(company=other_company))
    CoverageFactory(company=other_company, patient__last_name="Smith")
    client.force_login(admin_user)
    assert list(listed(client).result_list) == [ours]
    assert list(listed(client, q="smi").result_list) == [ours]


def test_the_list_keeps_its_order_by_patient_name(client, admin_user, company):
    payer = PayerFactory(company=company)
    for last in ("Young", "Adams", "Moore"):
        CoverageFactory(company=company, payer=payer, patient__last_name=last)
    client.force_login(admin_user)
    assert [c.patient.last_name for c in listed(client).result_list] == [
        "Adams",
        "Moore",
        "Young",
    ]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's planner")
def test_a_page_walks_the_patients_name_index(client, admin_user, company, other_company):
    payer = PayerFactory(company=company)
    for company_of in (company, other_company):
        Patient.objects.bulk_create(
            Patient(
                company=company_of,
                number=f"P-8{index:05d}",
                first_name=f"First{index % 97}",
                last_name=f"Last{index % 389}",
                dob=datetime.date(1950, 1, 1),
            )
            for index in range(1500)
        )
    Coverage.objects.bulk_create(
        Coverage(
            company=company,
            patient=patient,
            payer=payer,
            member_id=f"M{index:08d}",
            effective_date=datetime.date(2024, 1, 1),
        )
        for index, patient in enumerate(Patient.objects.filter(company=company))
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE clinical_patient")
        cursor.execute("ANALYZE hme_coverage")
    client.force_login(admin_user)
    page = listed(client).queryset[:100]
    sql, params = page.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + cursor.mogrify(sql, params))
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "patient_name_idx" in plan, plan
    assert "Seq Scan on clinical_patient" not in plan, plan
