"""The catalogue and the payers through the cache (core.reference, kinds catalogue and
payers): a hit saves the query, an edit or a delete is seen on the next read, one
company's write leaves the other's entries alone and never serves its rows to it, the
API and the admin read them from the cache, and the hits are in /metrics."""

import datetime

import pytest
from django.db import connection, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.choices import Role
from core import reference
from core.caching import expire_all
from core.metrics import CACHE_REQUESTS
from dme.models import Equipment
from dme.reference import catalogue_items
from hme.choices import PayerKind
from hme.models import Coverage, Payer
from tests.clinical.factories import PatientFactory, ProviderFactory
from tests.dme.factories import EquipmentFactory, WarehouseFactory
from tests.factories import member
from tests.hme.factories import CoverageFactory, PayerFactory

pytestmark = [pytest.mark.django_db, pytest.mark.warm_cache]


def queries_on(captured, table):
    return sum(f'FROM "{table}"' in query["sql"] for query in captured.captured_queries)


def counter(kind, result):
    return CACHE_REQUESTS.labels(kind=kind, result=result)._value.get()


class TestCatalogueById:
    def test_a_hit_saves_the_query(self, company, django_assert_num_queries):
        item = EquipmentFactory(company=company)
        expire_all()
        with django_assert_num_queries(1):
            assert catalogue_items(company.pk, [item.pk])[item.pk].name == item.name
        with django_assert_num_queries(0):
            assert catalogue_items(company.pk, [item.pk])[item.pk].name == item.name

    def test_an_edit_and_a_delete_are_seen_on_the_next_read(self, company):
        item = EquipmentFactory(company=company, name="Nasal mask")
        assert catalogue_items(company.pk, [item.pk])[item.pk].name == "Nasal mask"
        item.name = "Nasal pillow mask"
        item.save()
        assert catalogue_items(company.pk, [item.pk])[item.pk].name == "Nasal pillow mask"
        pk = item.pk
        item.delete()
        assert catalogue_items(company.pk, [pk]) == {}

    def test_another_companys_write_leaves_the_entries_alone(
        self, company, other_company, django_assert_num_queries
    ):
        mine = EquipmentFactory(company=company)
        theirs = EquipmentFactory(company=other_company)
        catalogue_items(company.pk, [mine.pk])
        theirs.name = "Renamed by B"
        theirs.save()
        with django_assert_num_queries(0):
            assert mine.pk in catalogue_items(company.pk, [mine.pk])

    def test_a_company_never_gets_another_companys_row(self, company, other_company):
        theirs = EquipmentFactory(company=other_company)
        assert theirs.pk in catalogue_items(other_company.pk, [theirs.pk])  # cached for B
        for _ in range(2):  # cold, then from the cache
            assert catalogue_items(company.pk, [theirs.pk]) == {}

    def test_a_rolled_back_edit_leaves_nothing_cached(self, company):
        item = EquipmentFactory(company=company, name="Nasal mask")
        catalogue_items(company.pk, [item.pk])

        def edit_then_fail():
            with transaction.atomic():
                item.name = "Never committed"
                item.save()
                # Read inside the transaction: the uncommitted name must not be cached.
                assert catalogue_items(company.pk, [item.pk])[item.pk].name == "Never committed"
                raise RuntimeError

        with pytest.raises(RuntimeError):
            edit_then_fail()
        assert catalogue_items(company.pk, [item.pk])[item.pk].name == "Nasal mask"

    def test_a_company_id_as_text_finds_the_same_rows(self, company):
        item = EquipmentFactory(company=company)
        assert item.pk in catalogue_items(str(company.pk), [str(item.pk)])

    def test_choices_refuse_an_ordering_that_is_not_a_field_name(self, company):
        with pytest.raises(ValueError, match="ordering"):
            reference.choices(Payer, company.pk, ["?"])

    def test_malformed_ids_are_absent_without_a_query(self, company, django_assert_num_queries):
        with django_assert_num_queries(0):
            assert catalogue_items(company.pk, ["not-a-uuid", 7, None, True]) == {}


class TestExistenceCheck:
    """TenantModel.clean_fields reads a reference's existence from the cache."""

    def test_a_cached_payer_needs_no_query(self, company, django_assert_num_queries):
        coverage = CoverageFactory(company=company, payer=PayerFactory(company=company))
        reference.row_by_id(Payer, company.pk, coverage.payer_id)  # cached
        with django_assert_num_queries(0):
            coverage.clean_fields(exclude=["patient", "company", "created_by", "updated_by"])

    def test_another_companys_payer_is_still_refused(self, company, other_company):
        from django.core.exceptions import ValidationError

        theirs = PayerFactory(company=other_company)
        reference.row_by_id(Payer, other_company.pk, theirs.pk)  # cached for B
        coverage = CoverageFactory.build(
            company=company, patient=PatientFactory(company=company), payer=theirs
        )
        with pytest.raises(ValidationError) as refused:
            coverage.full_clean()
        assert "payer" in refused.value.message_dict


class TestNoPHI:
    def test_neither_model_has_an_encrypted_field(self):
        from core.phi import encrypted_field_names

        assert encrypted_field_names(Equipment) == []
        assert encrypted_field_names(Payer) == []

    def test_a_model_with_an_encrypted_field_is_refused(self):
        with pytest.raises(ValueError, match="encrypted"):
            reference.register(Coverage, "payers")  # member_id is encrypted
        assert reference.kind_of(Coverage) is None


@pytest.fixture
def order_body(company):
    patient, prescriber = PatientFactory(company=company), ProviderFactory(company=company)
    warehouse = WarehouseFactory(company=company)

    def body(items):
        return {
            "patient": str(patient.pk),
            "prescriber": str(prescriber.pk),
            "location": str(warehouse.pk),
            "written_order_date": str(timezone.localdate() - datetime.timedelta(days=2)),
            "lines": [{"equipment": str(item.pk), "quantity": 1} for item in items],
        }

    return body


class TestThroughTheAPI:
    def test_an_orders_lines_read_the_catalogue_from_the_cache(
        self, company, personas, api_client_for, order_body
    ):
        client = api_client_for(personas[Role.INTAKE], company)
        items = [EquipmentFactory(company=company) for _ in range(4)]

        def create():
            return client.post("/api/v1/orders/", order_body(items), format="json")

        with CaptureQueriesContext(connection) as cold:
            assert create().status_code == 201
        with CaptureQueriesContext(connection) as warm:
            assert create().status_code == 201
        # Cold: the lines' items in one read (each line's id and check then hit).
        assert queries_on(cold, "dme_equipment") == 1
        assert queries_on(warm, "dme_equipment") == 0
        assert len(warm) < len(cold)

    def test_another_companys_item_does_not_exist_even_when_cached(
        self, company, other_company, personas, api_client_for, order_body
    ):
        theirs = EquipmentFactory(company=other_company)
        assert theirs.pk in catalogue_items(other_company.pk, [theirs.pk])
        client = api_client_for(personas[Role.INTAKE], company)
        response = client.post("/api/v1/orders/", order_body([theirs]), format="json")
        assert response.status_code == 400
        assert "does not exist" in str(response.json()["error"]["fields"]["lines"])

    def test_a_price_change_is_seen_on_the_next_order(
        self, company, personas, api_client_for, order_body
    ):
        item = EquipmentFactory(company=company)
        client = api_client_for(personas[Role.INTAKE], company)
        assert client.post("/api/v1/orders/", order_body([item]), format="json").status_code == 201
        item.purchase_price = "12.34"
        item.save()
        created = client.post("/api/v1/orders/", order_body([item]), format="json").json()
        assert created["lines"][0]["unit_price"] == "12.34"

    def test_a_coverages_payer_is_read_from_the_cache(self, company, personas, api_client_for):
        payer = PayerFactory(company=company, kind=PayerKind.COMMERCIAL)
        client = api_client_for(personas[Role.INTAKE], company)

        def create(priority):
            return client.post(
                "/api/v1/coverages/",
                {
                    "patient": str(PatientFactory(company=company).pk),
                    "payer": str(payer.pk),
                    "member_id": "XYZ123456",
                    "priority": priority,
                    "effective_date": "2026-01-01",
                },
                format="json",
            )

        with CaptureQueriesContext(connection) as cold:
            response = create("primary")
            assert response.status_code == 201, response.content
        with CaptureQueriesContext(connection) as warm:
            assert create("primary").status_code == 201
        assert queries_on(cold, "hme_payer") == 1
        assert queries_on(warm, "hme_payer") == 0


class TestPayerFilter:
    """The payer filter of the billing changelists: the company's payers, cached (the
    admin shows a relation's filter only when it offers two choices or more)."""

    @pytest.fixture
    def staff(self, client, personas):
        client.force_login(personas[Role.BILLING])
        return client

    @staticmethod
    def options(response):
        spec = next(f for f in response.context["cl"].filter_specs if f.title == "payer")
        return [name for _pk, name in spec.lookup_choices]

    def test_the_second_page_reads_no_payer(self, company, staff):
        PayerFactory(company=company, name="Medicare")
        PayerFactory(company=company, name="Aetna")
        page = reverse("admin:hme_claim_changelist")
        with CaptureQueriesContext(connection) as cold:
            assert self.options(staff.get(page)) == ["Aetna", "Medicare"]
        with CaptureQueriesContext(connection) as warm:
            assert self.options(staff.get(page)) == ["Aetna", "Medicare"]
        assert queries_on(cold, "hme_payer") == 1
        assert queries_on(warm, "hme_payer") == 0

    def test_a_new_or_renamed_payer_is_listed_at_once(self, company, staff):
        medicare = PayerFactory(company=company, name="Medicare")
        PayerFactory(company=company, name="Aetna")
        page = reverse("admin:hme_payment_changelist")
        assert self.options(staff.get(page)) == ["Aetna", "Medicare"]
        PayerFactory(company=company, name="Cigna")
        assert self.options(staff.get(page)) == ["Aetna", "Cigna", "Medicare"]
        medicare.name = "Medicare DME MAC B"
        medicare.save()
        assert self.options(staff.get(page)) == ["Aetna", "Cigna", "Medicare DME MAC B"]

    def test_each_company_sees_only_its_payers(self, company, other_company, client):
        for name in ("A1", "A2"):
            PayerFactory(company=company, name=f"Payer {name}")
        for name in ("B1", "B2"):
            PayerFactory(company=other_company, name=f"Payer {name}")
        page = reverse("admin:hme_claim_changelist")
        for round_ in range(2):  # the second round from the cache
            client.force_login(member(company, Role.BILLING, email=f"a{round_}@a.test"))
            assert self.options(client.get(page)) == ["Payer A1", "Payer A2"]
            client.force_login(member(other_company, Role.BILLING, email=f"b{round_}@b.test"))
            assert self.options(client.get(page)) == ["Payer B1", "Payer B2"]


@override_settings(METRICS_ALLOWED_IPS=["10.0.0.0/8"], METRICS_TOKEN="")
def test_the_hit_ratio_is_in_the_metrics(company, other_company, client):
    item = EquipmentFactory(company=company)
    payer = PayerFactory(company=company)
    hits = counter("catalogue", "hit"), counter("payers", "hit")
    for _ in range(2):
        catalogue_items(company.pk, [item.pk])
        reference.row_by_id(Payer, company.pk, payer.pk)
    assert counter("catalogue", "hit") == hits[0] + 1
    assert counter("payers", "hit") == hits[1] + 1
    text = client.get("/metrics", REMOTE_ADDR="10.1.2.3").content.decode()
    for kind in ("catalogue", "payers"):
        assert f'ariesone_cache_requests_total{{kind="{kind}",result="hit"}}' in text
        assert f'ariesone_cache_requests_total{{kind="{kind}",result="miss"}}' in text
