"""Name search at scale (issue 19, item 2): the patient search's name prefixes are
served by the prefix indexes on PostgreSQL, orders and claims search through the same
patient search, and a searched or filtered admin list counts at most 1,001 rows
(shown "1,000+"), whatever the table size. Another company's rows are never found;
staff without the view permission are refused."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.choices import Role
from clinical.models import Patient
from core import pagination
from tests.clinical.factories import PatientFactory, analyzed_name_table
from tests.dme.factories import OrderFactory
from tests.hme.factories import AuthorizationFactory, ClaimFactory, CoverageFactory

pytestmark = pytest.mark.django_db

PATIENTS = "admin:clinical_patient_changelist"
ORDERS = "admin:dme_order_changelist"
CLAIMS = "admin:hme_claim_changelist"


@pytest.fixture
def smiths(company):
    return [PatientFactory(company=company, last_name=name) for name in ("Smith", "Smithers")]


def listed(client, name, **params):
    response = client.get(reverse(name), params)
    assert response.status_code == 200
    return response


def plan_of(sql):
    with connection.cursor() as cursor:
        # Test tables hold a handful of rows, where a scan is cheapest: with scans
        # (and index walks in another order) priced out, the bitmap plan shows which
        # indexes serve the condition itself.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute("EXPLAIN " + sql)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("SET LOCAL enable_seqscan = on")
        cursor.execute("SET LOCAL enable_indexscan = on")
    return plan


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's planner")
def test_a_name_prefix_is_served_by_the_prefix_indexes(company, smiths):
    # A company of 2,000 patients under 200 names, with fresh statistics: the planner
    # then knows a three-letter prefix picks a few of them.
    analyzed_name_table(company)
    found = Patient.objects.filter(company=company).search("smi").order_by()
    assert set(found) == set(smiths)
    sql, params = found.query.sql_with_params()
    with connection.cursor() as cursor:
        statement = cursor.mogrify(sql, params)
    plan = plan_of(statement)
    assert "patient_last_prefix_idx" in plan, plan
    assert "patient_first_prefix_idx" in plan, plan


@pytest.mark.parametrize(
    ("name", "make"),
    [
        (ORDERS, lambda company, patient: OrderFactory(company=company, patient=patient)),
        (
            CLAIMS,
            lambda company, patient: ClaimFactory(
                company=company, coverage__patient=patient, coverage__company=company
            ),
        ),
    ],
)
def test_orders_and_claims_search_by_patient_name_with_a_bounded_count(
    client, admin_user, company, other_company, smiths, monkeypatch, name, make
):
    ours = [make(company, patient) for patient in smiths]
    theirs = make(other_company, PatientFactory(company=other_company, last_name="Smith"))
    client.force_login(admin_user)
    response = listed(client, name, q="smi")
    assert set(response.context["cl"].result_list) == set(ours)
    assert theirs not in response.context["cl"].result_list
    monkeypatch.setattr(pagination, "COUNT_BOUND", 1)
    with CaptureQueriesContext(connection) as queries:
        response = listed(client, name, q="smi")
    assert "1+" in response.content.decode()
    counts = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT COUNT(")]
    assert counts
    assert all("LIMIT 2" in sql for sql in counts), counts


def test_the_searched_patient_list_shows_the_bound_not_an_exact_count(
    client, admin_user, company, smiths, monkeypatch
):
    client.force_login(admin_user)
    monkeypatch.setattr(pagination, "COUNT_BOUND", 1)
    response = listed(client, PATIENTS, q="smi")
    assert "1+" in response.content.decode()
    monkeypatch.setattr(pagination, "COUNT_BOUND", 1000)
    response = listed(client, PATIENTS, q="smi")
    assert response.context["cl"].result_count == 2


def test_the_searched_list_costs_the_same_queries_for_2_and_12_matches(
    client, admin_user, company, smiths
):
    client.force_login(admin_user)
    with CaptureQueriesContext(connection) as few:
        listed(client, PATIENTS, q="smi")
    for _ in range(10):
        PatientFactory(company=company, last_name="Smithson")
    with CaptureQueriesContext(connection) as many:
        listed(client, PATIENTS, q="smi")
    assert len(many) == len(few)


def test_staff_without_the_view_permission_are_refused(client, personas):
    client.force_login(personas[Role.WAREHOUSE])
    assert client.get(reverse(CLAIMS), {"q": "smi"}).status_code == 403


def test_is_there_a_match_answers_as_the_search_does(company, smiths):
    analyzed_name_table(company)
    patients = Patient.objects.filter(company=company)
    for term in ("smi", "SMITHERS", "Smith, J", "zzz", "ba", "Balan Demran"):
        assert patients.search(term).exists() == (len(list(patients.search(term))) > 0), term


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's plan of the search")
def test_on_postgresql_is_there_a_match_reads_a_planned_page_of_one(company, smiths):
    analyzed_name_table(company)
    with CaptureQueriesContext(connection) as queries:
        assert Patient.objects.filter(company=company).search("smi").exists()
    (query,) = queries.captured_queries
    assert "ANY(ARRAY(" in query["sql"], query["sql"]
    assert "LIMIT 1" in query["sql"], query["sql"]


def test_a_bounded_count_counts_keys_not_the_list_s_columns(company):
    from django.db.models import OuterRef, Subquery

    from hme.models import Claim, ClaimLine

    for _ in range(3):
        ClaimFactory(company=company, coverage__company=company)
    first_dos = ClaimLine.objects.filter(claim=OuterRef("pk")).values("date_of_service")[:1]
    claims = Claim.objects.filter(company=company).annotate(first_dos=Subquery(first_dos))
    with CaptureQueriesContext(connection) as queries:
        assert pagination.bounded_count(claims) == 3
    (query,) = queries.captured_queries
    assert "hme_claimline" not in query["sql"], query["sql"]
    assert pagination.bounded_count(claims, bound=2) == pagination.AtLeast(3)


@pytest.mark.parametrize(
    ("name", "make"),
    [
        (
            "admin:hme_coverage_changelist",
            lambda company, patient: CoverageFactory(company=company, patient=patient),
        ),
        (
            "admin:hme_authorization_changelist",
            lambda company, patient: AuthorizationFactory(
                company=company, coverage__company=company, coverage__patient=patient
            ),
        ),
    ],
)
def test_lists_linked_through_a_coverage_search_its_patient(
    client, admin_user, company, other_company, smiths, name, make
):
    ours = {make(company, patient) for patient in smiths}
    make(company, PatientFactory(company=company, last_name="Doe"))
    theirs = make(other_company, PatientFactory(company=other_company, last_name="Smith"))
    client.force_login(admin_user)
    found = set(listed(client, name, q="smi").context["cl"].result_list)
    assert found == ours
    assert theirs not in found
    assert set(listed(client, name, q="zzz").context["cl"].result_list) == set()
