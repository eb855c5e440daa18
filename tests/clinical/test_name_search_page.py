"""A page of a name search (clinical.models.name_search, issue 19 item 2): on PostgreSQL
with a code-point collation it is planned a branch at a time, inside the case ranges of
each last-name prefix; the rows and their order are exactly those of the single OR, in
one query, and never another company's."""

import datetime
import string

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.choices import Role
from clinical.models import Patient
from clinical.models.name_search import (
    MAX_RANGES,
    NameBranch,
    plan_name_page,
    sorts_by_code_point,
)
from tests.clinical.factories import PatientFactory, analyzed_name_table

pytestmark = pytest.mark.django_db

# (last, first): every case a prefix can start with, the two letters whose other
# case UPPER() also gives (dotless i, long s), neighbours in the name order.
NAMES = [
    ("Smith", "John"),
    ("SMITH", "Jon"),
    ("smith", "johnny"),
    ("sMITH", "Ann"),
    ("\u017fmith", "Ann"),
    ("Smithers", "Jane"),
    ("Small", "Smita"),
    ("Smyth", "John"),
    ("Adams", "Smith"),
    ("John", "Smith"),
    ("Johnson", "Smithy"),
    ("Doe", "Jane"),
    ("Doe", "Janet"),
    ("doe", "jan"),
    ("O'Brien", "Jo"),
    ("Iverson", "Ida"),
    ("\u0131vanov", "Ivan"),
    ("ivy", "Sam"),
    ("Zeta", "Jo"),
    ("Peña", "Sofia"),
]
TERMS = ["smi", "s", "SM", "jo", "John Smith", "Smith John", "Doe, Ja", "doe,", "o'b", "iv", "zz"]
SLICES = [(0, 1), (0, 3), (2, 5), (1, 50), (0, 100)]


@pytest.fixture
def people(company, other_company):
    ours = [
        PatientFactory(company=company, last_name=last, first_name=first, number=f"P-{i:06d}")
        for i, (last, first) in enumerate(NAMES + NAMES[:4], start=1)
    ]
    PatientFactory(company=other_company, last_name="Smith", first_name="John")
    PatientFactory(company=other_company, last_name="Doe", first_name="Jane")
    return ours


def variants(company):
    """The querysets a page is taken from: a plain search, one filtered after it, the
    admin's order (a tie-breaker added), and one with a join."""
    base = Patient.objects.filter(company=company)
    return {
        "search": lambda term: base.search(term),
        "filtered after": lambda term: base.search(term).filter(status="active"),
        "admin order": lambda term: base.search(term).order_by(
            "last_name", "first_name", "number", "-pk"
        ),
        "select_related": lambda term: base.select_related("home_location").search(term),
    }


@pytest.mark.parametrize("term", TERMS)
def test_a_page_is_the_same_rows_in_the_same_order_as_the_single_or(people, company, term):
    for name, make in variants(company).items():
        queryset = make(term)
        everything = [patient.pk for patient in queryset]  # unsliced: the single OR
        assert all(pk in {p.pk for p in people} for pk in everything), name
        for start, stop in SLICES:
            page = [patient.pk for patient in make(term)[start:stop]]
            assert page == everything[start:stop], (name, term, start, stop)


def test_a_page_never_holds_another_companys_patients(people, company, other_company):
    theirs = set(Patient.objects.filter(company=other_company).values_list("pk", flat=True))
    for term in TERMS:
        page = {p.pk for p in Patient.objects.filter(company=company).search(term)[:100]}
        assert not page & theirs, term


def test_the_api_pages_through_a_search_in_the_list_order(
    people, company, personas, api_client_for
):
    client = api_client_for(personas[Role.INTAKE])
    expected = [str(p.pk) for p in Patient.objects.filter(company=company).search("smi")]
    seen = []
    for page in range(1, 10):
        response = client.get(
            reverse("api:patient-list"), {"search": "smi", "page": page, "page_size": 3}
        )
        if response.status_code == 404:
            break
        seen += [row["id"] for row in response.json()["results"]]
    assert seen == expected
    # Smith in four cases (each twice), Smithers, Small, Smyth, the first names Smita,
    # Smith, Smithy; and the long-s Smith where UPPER() knows it (not SQLite's).
    assert len(expected) in (13, 14)


@pytest.mark.parametrize("prefix", ["smi", "jo", "o'b", "john", "Doe", "x", "%_"])
def test_the_case_ranges_hold_every_case_of_the_prefix(prefix):
    ranges = NameBranch(last=prefix).last_name_ranges()
    assert 1 <= len(ranges) <= MAX_RANGES
    assert all(low.upper() == prefix[: len(low)].upper() for low, _ in ranges)
    cases = {prefix, prefix.upper(), prefix.lower(), prefix.swapcase(), prefix.title()}
    cases |= {prefix.upper().replace("S", "\u017f"), prefix.upper().replace("I", "\u0131")}
    for case in cases:
        inside = [low for low, high in ranges if low <= case + "zzz" < high]
        assert len(inside) == 1, (case, ranges)
    # The ranges split on the prefix's first letters (the filter checks the rest): a
    # name that differs in those letters is in none of them.
    for other in ("A" + prefix, prefix[0] + "~", "\u00e9" + prefix):
        if other.upper().startswith(prefix.upper()):
            continue
        assert not any(low <= other < high for low, high in ranges), other


def test_an_empty_queryset_pages_empty(people, company):
    assert list(Patient.objects.none().search("smi")[:50]) == []
    assert list(Patient.objects.filter(company=company, pk__in=[]).search("jo")[:50]) == []


def test_a_prefix_with_a_letter_outside_ascii_keeps_the_single_or(company):
    assert NameBranch(last="Peñ").last_name_ranges() is None
    assert plan_name_page(Patient.objects.filter(company=company).search("Peñ"), 50) is None


def test_another_order_or_a_number_search_keeps_the_single_or(company):
    patients = Patient.objects.filter(company=company)
    assert plan_name_page(patients.search("smi").order_by("-last_name"), 50) is None
    assert plan_name_page(patients.search("smi").order_by("created_at"), 50) is None
    assert plan_name_page(patients.search("P-000001"), 50) is None
    assert plan_name_page(patients.filter(last_name="Smith"), 50) is None
    assert plan_name_page(patients.search("smi").search("jo"), 50) is None


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's planner")
def test_on_postgresql_the_page_is_one_query_walking_the_name_order(people, company):
    if not sorts_by_code_point(connection.alias):
        pytest.skip("the test database does not sort by code point")
    queryset = Patient.objects.filter(company=company).search("smi")
    with CaptureQueriesContext(connection) as queries:
        page = list(queryset[:50])
    assert len(page) == 14
    assert len(queries) == 1
    sql = queries[0]["sql"]
    assert "CROSS JOIN LATERAL" in sql
    assert "= ANY(ARRAY(" in sql
    analyzed_name_table(company)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("RESET enable_seqscan")
    assert "Function Scan on bounds" in plan, plan
    # The last-name branch walks the name order inside its ranges; no part gathers
    # every match through the prefix index.
    assert "patient_name_idx" in plan.split("Subquery Scan")[0], plan
    assert "patient_last_prefix_idx" not in plan, plan


def test_off_postgresql_or_without_code_point_order_the_page_is_django_s(
    people, company, monkeypatch
):
    from clinical.models import name_search

    monkeypatch.setattr(name_search, "sorts_by_code_point", lambda alias: False)
    queryset = Patient.objects.filter(company=company).search("smi")
    assert plan_name_page(queryset, 50) is None
    assert [p.pk for p in queryset[:3]] == [p.pk for p in queryset][:3]


def test_names_of_every_printable_character_page_like_the_single_or(company):
    for index, character in enumerate(string.ascii_letters + string.digits + " '-.%_"):
        PatientFactory(
            company=company,
            last_name=f"S{character}m",
            first_name="Al",
            number=f"P-{index + 1:06d}",
            dob=datetime.date(1950, 1, 1),
        )
    for term in ("s", "S%", "s_", "s'", "s ", "s-m"):
        queryset = Patient.objects.filter(company=company).search(term)
        everything = [p.pk for p in queryset]
        assert [p.pk for p in queryset[:10]] == everything[:10], term
