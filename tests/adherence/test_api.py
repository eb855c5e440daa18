"""The adherence API: the multipart import, the read-only lists, scoping and roles."""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.choices import Role
from adherence.models import UsageImport, UsageNight

from .conftest import good, pap_rental, usage_csv
from .factories import AdherenceStatusFactory, UsageImportFactory, UsageNightFactory

IMPORTS = "api:usageimport-list"


def upload(client, data, **fields):
    return client.post(
        reverse(IMPORTS),
        {"file": SimpleUploadedFile("export.csv", data, content_type="text/csv"), **fields},
        format="multipart",
    )


def test_it_imports_a_file(company, personas, rental, api_client_for):
    client = api_client_for(personas[Role.CLINICIAN])
    response = upload(client, usage_csv(rental.start_date, good(30), serial="23221D0001"))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["created_count"] == 30
    assert body["adherence_state"] == "met"
    assert body["rental"] == str(rental.pk)
    again = upload(client, usage_csv(rental.start_date, good(30), serial="23221D0001"))
    assert again.json()["unchanged_count"] == 30
    assert UsageNight.objects.count() == 30


def test_the_serial_can_be_given_beside_the_file(company, admin_user, rental, api_client_for):
    data = usage_csv(rental.start_date, good(3))
    response = upload(api_client_for(admin_user), data, serial="23221D0001")
    assert response.status_code == 201, response.content


def test_a_bad_line_is_a_400_in_the_one_error_shape(company, admin_user, rental, api_client_for):
    data = usage_csv(rental.start_date, ["6.0", "99"], serial="23221D0001")
    response = upload(api_client_for(admin_user), data)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_file"
    assert "line 5" in error["message"]  # preamble 1-2, header 3, nights from line 4
    assert error["fields"]["file"] == ["line 5: the hours used (99) must be between 0 and 24"]
    assert not UsageImport.objects.exists()


def test_a_missing_file_is_a_400(company, admin_user, api_client_for):
    response = api_client_for(admin_user).post(reverse(IMPORTS), {}, format="multipart")
    assert response.status_code == 400
    assert "file" in response.json()["error"]["fields"]


def test_another_companys_rental_is_not_found(company, outsider, rental, api_client_for):
    response = upload(
        api_client_for(outsider), usage_csv(rental.start_date, good(3), serial="23221D0001")
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "rental_not_found"
    assert not UsageNight.objects.exists()


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.WAREHOUSE, Role.BILLING, Role.INTAKE])
def test_roles_without_the_add_permission_cannot_import(
    company, personas, rental, api_client_for, role
):
    response = upload(
        api_client_for(personas[role]), usage_csv(rental.start_date, good(3), serial="23221D0001")
    )
    assert response.status_code == 403
    assert not UsageNight.objects.exists()


def test_it_requires_authentication(anon_client, db):
    assert anon_client.get(reverse(IMPORTS)).status_code == 401
    assert anon_client.get(reverse("api:adherencestatus-list")).status_code == 401
    assert anon_client.get(reverse("api:usagenight-list")).status_code == 401


@pytest.mark.parametrize(
    ("basename", "factory"),
    [
        ("adherencestatus", AdherenceStatusFactory),
        ("usagenight", UsageNightFactory),
        ("usageimport", UsageImportFactory),
    ],
)
def test_lists_are_scoped_and_others_are_404(
    company, other_company, personas, outsider, api_client_for, basename, factory
):
    mine = factory(company=company)
    theirs = factory(company=other_company)
    client = api_client_for(personas[Role.AUDITOR])
    rows = client.get(reverse(f"api:{basename}-list")).json()["results"]
    assert [row["id"] for row in rows] == [str(mine.pk)]
    assert client.get(reverse(f"api:{basename}-detail", args=[theirs.pk])).status_code == 404
    assert client.get(reverse(f"api:{basename}-detail", args=[mine.pk])).status_code == 200
    other = api_client_for(outsider)
    assert other.get(reverse(f"api:{basename}-detail", args=[mine.pk])).status_code == 404
    # The auditor writes nothing.
    assert client.post(reverse(f"api:{basename}-list"), {}, format="json").status_code in (403, 405)
    assert client.delete(reverse(f"api:{basename}-detail", args=[mine.pk])).status_code in (
        403,
        405,
    )


def test_the_warehouse_sees_no_adherence(company, personas, api_client_for):
    AdherenceStatusFactory(company=company)
    response = api_client_for(personas[Role.WAREHOUSE]).get(reverse("api:adherencestatus-list"))
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("basename", "factory"),
    [("adherencestatus", AdherenceStatusFactory), ("usagenight", UsageNightFactory)],
)
def test_list_query_counts_do_not_grow(company, personas, api_client_for, basename, factory):
    client = api_client_for(personas[Role.AUDITOR])
    factory(company=company)
    with CaptureQueriesContext(connection) as one:
        assert client.get(reverse(f"api:{basename}-list")).status_code == 200
    for _ in range(9):
        factory(company=company)
    with CaptureQueriesContext(connection) as ten:
        assert len(client.get(reverse(f"api:{basename}-list")).json()["results"]) == 10
    assert len(ten) == len(one)


def test_the_import_list_query_count_does_not_grow(company, personas, api_client_for):
    client = api_client_for(personas[Role.AUDITOR])
    start = datetime.date(2026, 1, 1)
    from adherence import services

    def one_more(i):
        rental = pap_rental(company, start, serial=f"SN-L{i}")
        services.import_usage(company, usage_csv(start, good(2), serial=f"SN-L{i}"))
        return rental

    one_more(0)
    with CaptureQueriesContext(connection) as one:
        client.get(reverse(IMPORTS))
    for i in range(1, 6):
        one_more(i)
    with CaptureQueriesContext(connection) as six:
        assert len(client.get(reverse(IMPORTS)).json()["results"]) == 6
    assert len(six) == len(one)
