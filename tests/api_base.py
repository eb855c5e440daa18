"""The generic API test base: a model's endpoint declares its data, inherits the rest.

    class TestLocationAPI(TenantAPITests):
        basename = "location"
        factory = LocationFactory

        def create_data(self, company):
            return {"name": "North", ...}

        def update_data(self, obj):
            return {"name": "North 2"}

Every subclass gets: 401 without a token, list/retrieve/create/update/delete with the
write role, 403 for a read-only role's write, 404 for another company's record on every
verb, the company and author filled on create, a constant query count from 1 to 20
rows, and, for ``access_logged`` models, an access-log row for each row read.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.choices import Role
from core.models import AccessLog
from tests.factories import member


class TenantAPITests:
    basename = None  # router basename: urls api:<basename>-list / -detail
    url_namespace = "api"
    factory = None  # factory_boy factory taking company=
    write_role = Role.ADMINISTRATOR
    read_only_role = Role.AUDITOR
    deletable = True  # False: DELETE is not offered (405)
    rows_for_query_check = 20

    # -- what a subclass declares ------------------------------------------------
    def make(self, company, **fields):
        """A saved row of ``company``."""
        return self.factory(company=company, **fields)

    def create_data(self, company):
        raise NotImplementedError

    def update_data(self, obj):
        raise NotImplementedError

    # -- helpers -------------------------------------------------------------------
    def list_url(self):
        return reverse(f"{self.url_namespace}:{self.basename}-list")

    def detail_url(self, obj):
        return reverse(f"{self.url_namespace}:{self.basename}-detail", args=[obj.pk])

    @pytest.fixture
    def writer(self, company):
        return member(company, self.write_role, email=f"writer-{self.basename}@a.test")

    @pytest.fixture
    def reader(self, company):
        return member(company, self.read_only_role, email=f"reader-{self.basename}@a.test")

    # -- the tests -----------------------------------------------------------------
    def test_it_requires_authentication(self, company, anon_client):
        obj = self.make(company)
        for response in (
            anon_client.get(self.list_url()),
            anon_client.get(self.detail_url(obj)),
            anon_client.post(self.list_url(), {}, format="json"),
        ):
            assert response.status_code == 401
            assert response.json()["error"]["code"] == "not_authenticated"

    def test_it_lists_only_its_company(self, company, other_company, reader, api_client_for):
        mine = self.make(company)
        self.make(other_company)
        response = api_client_for(reader).get(self.list_url())
        assert response.status_code == 200, response.content
        ids = [row["id"] for row in response.json()["results"]]
        assert ids == [str(mine.pk)]

    def test_it_retrieves(self, company, reader, api_client_for):
        obj = self.make(company)
        response = api_client_for(reader).get(self.detail_url(obj))
        assert response.status_code == 200, response.content
        assert response.json()["id"] == str(obj.pk)

    def test_it_creates(self, company, writer, api_client_for):
        response = api_client_for(writer).post(
            self.list_url(), self.create_data(company), format="json"
        )
        assert response.status_code == 201, response.content
        created = self.factory._meta.model.objects.get(pk=response.json()["id"])
        assert created.company_id == company.pk
        assert created.created_by_id == writer.pk

    def test_it_updates(self, company, writer, api_client_for):
        obj = self.make(company)
        data = self.update_data(obj)
        response = api_client_for(writer).patch(self.detail_url(obj), data, format="json")
        assert response.status_code == 200, response.content
        obj.refresh_from_db()
        assert obj.updated_by_id == writer.pk

    def test_it_deletes(self, company, writer, api_client_for):
        obj = self.make(company)
        response = api_client_for(writer).delete(self.detail_url(obj))
        if not self.deletable:
            assert response.status_code == 405
            return
        assert response.status_code == 204, response.content
        assert not self.factory._meta.model.objects.filter(pk=obj.pk).exists()

    def test_it_refuses_writes_to_a_read_only_role(self, company, reader, api_client_for):
        obj = self.make(company)
        client = api_client_for(reader)
        created = client.post(self.list_url(), self.create_data(company), format="json")
        updated = client.patch(self.detail_url(obj), self.update_data(obj), format="json")
        assert created.status_code == 403
        assert updated.status_code == 403
        assert created.json()["error"]["code"] == "permission_denied"

    def test_it_hides_other_companies_records(self, company, outsider, api_client_for):
        obj = self.make(company)
        client = api_client_for(outsider)
        responses = [
            client.get(self.detail_url(obj)),
            client.patch(self.detail_url(obj), self.update_data(obj), format="json"),
            client.put(self.detail_url(obj), self.create_data(company), format="json"),
            client.delete(self.detail_url(obj)),
        ]
        for response in responses:
            assert response.status_code in (404, 405), response.content
        assert responses[0].status_code == 404
        assert responses[0].json()["error"]["code"] == "not_found", responses[0].content
        assert self.factory._meta.model.objects.filter(pk=obj.pk).exists()

    def test_its_list_query_count_is_constant(self, company, reader, api_client_for):
        client = api_client_for(reader)
        self.make(company)
        with CaptureQueriesContext(connection) as one_row:
            assert client.get(self.list_url()).status_code == 200
        for _ in range(self.rows_for_query_check - 1):
            self.make(company)
        with CaptureQueriesContext(connection) as many_rows:
            response = client.get(self.list_url())
        assert len(response.json()["results"]) == self.rows_for_query_check
        assert len(many_rows) == len(one_row), [q["sql"] for q in many_rows.captured_queries]

    def test_it_logs_access_to_patient_data(self, company, reader, api_client_for):
        model = self.factory._meta.model
        if not getattr(model, "access_logged", False):
            pytest.skip(f"{model.__name__} is not patient-linked")
        obj = self.make(company)
        client = api_client_for(reader)
        client.get(self.list_url())
        client.get(self.detail_url(obj))
        logged = AccessLog.objects.filter(object_id=str(obj.pk), user=reader)
        assert sorted(logged.values_list("action", "via")) == [("list", "api"), ("view", "api")]
