"""Page-number lists refuse pages past ``API_MAX_PAGE_DEPTH`` rows with a clear 400
(issue 19 item 5: ``patients/?page=1000`` was an OFFSET of 49,950 rows)."""

from django.urls import reverse

from accounts.choices import Role
from tests.clinical.factories import PatientFactory


def test_a_page_past_the_depth_is_a_clear_400(company, personas, api_client_for, settings):
    settings.API_MAX_PAGE_DEPTH = 4
    PatientFactory.create_batch(6, company=company)
    client = api_client_for(personas[Role.INTAKE])
    url = reverse("api:patient-list")
    assert len(client.get(url, {"page_size": 2, "page": 2}).json()["results"]) == 2
    response = client.get(url, {"page_size": 2, "page": 3})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "page_too_deep"
    assert "first 4 rows" in error["message"]
    assert "filters or search" in error["message"]
    # The depth counts rows, not pages: a smaller page reaches the same row.
    assert client.get(url, {"page_size": 1, "page": 4}).status_code == 200
    assert client.get(url, {"page_size": 1, "page": 5}).status_code == 400


def test_another_companys_rows_do_not_count_towards_a_page(
    company, other_company, personas, api_client_for
):
    PatientFactory.create_batch(2, company=other_company)
    client = api_client_for(personas[Role.INTAKE])
    response = client.get(reverse("api:patient-list"), {"page": 2})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
