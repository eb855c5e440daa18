"""A filtered or searched API page-number list counts at most 1,001 rows (issue 19 item 2:
``patients/?search=s`` counted all 14,546 matches at 100,000 patients); beyond the bound
``count`` is a lower bound, ``count_exact`` is false, and ``next`` still leads through
every page, read one row ahead. Another company's rows never count."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.choices import Role
from core import pagination
from tests.clinical.factories import PatientFactory

pytestmark = pytest.mark.django_db
URL = "api:patient-list"


@pytest.fixture
def smiths(company, other_company):
    PatientFactory.create_batch(2, company=other_company, last_name="Smith")
    return [PatientFactory(company=company, last_name=f"Smith{i:02d}") for i in range(7)]


def pages(client, **params):
    """Every page by following ``next``: (ids, the responses' JSON)."""
    response = client.get(reverse(URL), params)
    bodies = []
    while True:
        assert response.status_code == 200, response.content
        bodies.append(response.json())
        if not bodies[-1]["next"]:
            return [row["id"] for body in bodies for row in body["results"]], bodies
        response = client.get(bodies[-1]["next"])


def test_within_the_bound_the_count_is_exact(smiths, personas, api_client_for):
    client = api_client_for(personas[Role.INTAKE])
    ids, bodies = pages(client, search="smi", page_size=3)
    assert len(ids) == 7
    assert {body["count"] for body in bodies} == {7}
    assert all(body["count_exact"] for body in bodies)


def test_past_the_bound_the_count_is_a_lower_bound_and_next_leads_to_every_row(
    smiths, company, personas, api_client_for, monkeypatch
):
    monkeypatch.setattr(pagination, "COUNT_BOUND", 2)
    client = api_client_for(personas[Role.INTAKE])
    ids, bodies = pages(client, search="smi", page_size=3)
    assert ids == [str(p.pk) for p in sorted(smiths, key=lambda p: p.last_name)]
    assert {body["count"] for body in bodies} == {3}  # "more than 2"
    assert not any(body["count_exact"] for body in bodies)
    assert bodies[-1]["next"] is None
    assert bodies[1]["previous"] is not None
    # A page past the last row is a 404, as with an exact count.
    response = client.get(reverse(URL), {"search": "smi", "page_size": 3, "page": 4})
    assert response.status_code == 404
    # The last page is not known past the bound: a clear 404, not an endless offset.
    response = client.get(reverse(URL), {"search": "smi", "page_size": 3, "page": "last"})
    assert response.status_code == 404
    assert "follow next" in response.json()["error"]["message"]
    # A page of the bounded list: the bounded count and one read of the page (a row
    # more than it shows), whatever the page size.
    with CaptureQueriesContext(connection) as queries:
        client.get(reverse(URL), {"search": "smi", "page_size": 3, "page": 2})
    patient_reads = [
        q["sql"] for q in queries.captured_queries if 'FROM "clinical_patient"' in q["sql"]
    ]
    assert len(patient_reads) == 2
    assert "LIMIT 3" in patient_reads[0]  # the bound + 1
    assert "LIMIT 4" in patient_reads[1]  # the page + 1


def test_the_schema_describes_count_exact(client):
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    page = schema["components"]["schemas"]["PaginatedPatientList"]
    assert page["properties"]["count_exact"]["type"] == "boolean"
    assert "count_exact" in page["required"]
