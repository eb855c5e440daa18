"""The patient search of a patient-linked list (clinical.models.linked_search, issue 19
item 2): on PostgreSQL a page of a name search walks the list in its order and tests
each row's patient, falling back on gathering the matches when the walk falls short,
and the bounded count reads the matching patients branch by branch. The rows, their
order and the counts are exactly those of the single ``patient_id IN (...)``, and never
another company's."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clinical.models import Patient, linked_search
from clinical.models.linked_search import LinkedPatientSearch
from core.pagination import AtLeast, bounded_count
from dme.models import Order
from tests.clinical.factories import PatientFactory
from tests.dme.factories import OrderFactory

pytestmark = pytest.mark.django_db

NAMES = [
    ("Smith", "John"),
    ("SMITH", "Jon"),
    ("smith", "johnny"),
    ("\u017fmith", "Ann"),
    ("Small", "Smita"),
    ("Adams", "Smith"),
    ("John", "Smith"),
    ("Doe", "Jane"),
    ("doe", "jan"),
    ("Zeta", "Jo"),
]
TERMS = ["smi", "s", "jo", "John Smith", "Doe, Ja", "zz", "P-000003"]
SLICES = [(0, 1), (0, 3), (2, 6), (0, 51)]
ADMIN_ORDER = ("-created_at", "-pk")
ORDERINGS = [ADMIN_ORDER, ("number", "pk"), ("status", "-written_order_date", "-id")]


@pytest.fixture
def orders(company, other_company):
    made = []
    for i, (last, first) in enumerate(NAMES, start=1):
        patient = PatientFactory(
            company=company, last_name=last, first_name=first, number=f"P-{i:06d}"
        )
        # One to three orders each, interleaved in time with the others'.
        made += [OrderFactory(company=company, patient=patient) for _ in range(1 + i % 3)]
    stranger = PatientFactory(company=other_company, last_name="Smith", first_name="John")
    OrderFactory(company=other_company, patient=stranger)
    return made


def searched(company, term, ordering=ADMIN_ORDER):
    patients = Patient.objects.filter(company=company).search(term)
    linked = Order.objects.filter(company=company).filter(LinkedPatientSearch("patient", patients))
    single = Order.objects.filter(company=company, patient__in=patients.values("pk"))
    return linked.order_by(*ordering), single.order_by(*ordering)


@pytest.mark.parametrize("walk", [1, 40])
@pytest.mark.parametrize("ordering", ORDERINGS)
@pytest.mark.parametrize("term", TERMS)
def test_a_page_is_the_single_querys_rows_in_its_order(
    orders, company, term, ordering, walk, monkeypatch
):
    # walk=1: the walk reads one row per row of the page and mostly falls short, so the
    # gathering part answers; walk=40: the walk finds the page.
    monkeypatch.setattr(linked_search, "WALK_PER_ROW", walk)
    linked, single = searched(company, term, ordering)
    for start, stop in SLICES:
        assert [o.pk for o in linked[start:stop]] == [o.pk for o in single[start:stop]]


@pytest.mark.parametrize("term", TERMS)
def test_the_bounded_count_is_the_single_querys(orders, company, term):
    linked, single = searched(company, term)
    exact = single.count()
    for bound in (1, 3, 1000):
        expected = AtLeast(bound + 1) if exact > bound else exact
        found = bounded_count(linked, bound)
        assert found == expected
        assert isinstance(found, AtLeast) == isinstance(expected, AtLeast)


def test_another_companys_orders_are_never_found(orders, company, other_company):
    linked, single = searched(company, "smith")
    assert linked[:51]
    assert all(order.company_id == company.pk for order in linked[:51])
    assert bounded_count(linked) == single.count()


def test_on_postgresql_the_page_walks_and_the_count_starts_from_the_patients(orders, company):
    if connection.vendor != "postgresql":
        pytest.skip("the plans are PostgreSQL's")
    linked, _ = searched(company, "smi")
    with CaptureQueriesContext(connection) as page:
        list(linked[:51])
    with CaptureQueriesContext(connection) as count:
        bounded_count(linked)
    assert len(page.captured_queries) == 1
    assert 'WITH "hits" AS MATERIALIZED' in page.captured_queries[0]["sql"]
    assert len(count.captured_queries) == 1
    assert "CROSS JOIN LATERAL" in count.captured_queries[0]["sql"]


def test_a_joined_order_or_a_number_search_keeps_the_single_query(orders, company):
    linked, single = searched(company, "smi", ("patient__last_name", "pk"))
    assert linked.query.where.children[-1].lhs.plan_slice(linked, 51) is None
    assert [o.pk for o in linked[:51]] == [o.pk for o in single[:51]]
    by_number, _ = searched(company, "P-000001")
    assert by_number.query.where.children[-1].lhs.plan_slice(by_number, 51) is None


def test_the_admin_orders_search_lists_the_patients_orders(orders, company, client, admin_user):
    client.force_login(admin_user)
    response = client.get("/admin/dme/order/", {"q": "smith"})
    assert response.status_code == 200
    _, single = searched(company, "smith")
    shown = [o.pk for o in response.context["cl"].result_list]
    assert shown == [o.pk for o in single[:100]]
    assert response.context["cl"].result_count == single.count()
