"""core.caching and the cached access (accounts.access_cache): hits, invalidation,
tenant separation, no PHI in keys, fewer queries per request."""

import datetime

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import services
from accounts.choices import Role
from core import caching
from core.metrics import CACHE_REQUESTS
from tests.factories import member

pytestmark = [pytest.mark.django_db, pytest.mark.warm_cache]

CLAIMS = "/api/v1/claims/"


def all_keys():
    """Every key in the cache, whatever the backend (Redis in CI's PostgreSQL pass)."""
    if hasattr(cache, "keys"):
        return [str(key) for key in cache.keys("*")]
    return [str(key) for key in cache._cache]  # local memory


def tables(captured):
    return " ".join(query["sql"] for query in captured.captured_queries)


def counter(kind, result):
    return CACHE_REQUESTS.labels(kind=kind, result=result)._value.get()


class TestCachedReads:
    def test_it_computes_once_and_then_hits(self, company):
        calls = []

        def compute():
            calls.append(1)
            return {"value": 1}

        hits = counter("fees", "hit")
        assert caching.cached("fees", company.pk, ("list",), compute) == {"value": 1}
        assert caching.cached("fees", company.pk, ("list",), compute) == {"value": 1}
        assert len(calls) == 1
        assert counter("fees", "hit") == hits + 1

    def test_it_caches_none(self, company):
        calls = []
        for _ in range(2):
            caching.cached("fees", company.pk, ("none",), lambda: calls.append(1))
        assert len(calls) == 1

    def test_one_write_invalidates_every_entry_of_a_company(self, company, other_company):
        calls = []

        def read(scope, name):
            return caching.cached("fees", scope.pk, (name,), lambda: calls.append(name) or name)

        for name in ("a", "b", "c"):
            read(company, name)
            read(other_company, name)
        assert len(calls) == 6
        caching.invalidate("fees", company.pk)
        for name in ("a", "b", "c"):
            read(company, name)
            read(other_company, name)
        # Company A's three were computed again; company B's were still cached.
        assert len(calls) == 9

    def test_companies_never_share_an_entry(self, company, other_company):
        caching.cached("fees", company.pk, ("list",), lambda: ["A's payer"])
        assert caching.cached("fees", other_company.pk, ("list",), lambda: ["B's"]) == ["B's"]

    def test_a_lost_version_never_brings_old_entries_back(self, company):
        caching.cached("fees", company.pk, ("x",), lambda: "old")
        cache.delete(caching.make_key("fees", "v", company.pk))
        assert caching.cached("fees", company.pk, ("x",), lambda: "new") == "new"

    def test_many_ids_in_one_read(self):
        computed = []

        def compute(missing):
            computed.append(sorted(missing))
            return {code: code.lower() for code in missing if code != "Z999"}

        assert caching.cached_many("icd10", None, ["A01", "B02", "Z999"], compute) == {
            "A01": "a01",
            "B02": "b02",
        }
        assert caching.cached_many("icd10", None, ["A01", "Z999", "C03"], compute) == {
            "A01": "a01",
            "C03": "c03",
        }
        assert computed == [["A01", "B02", "Z999"], ["C03"]]

    @pytest.mark.parametrize(
        "part", ["Jane Doe", "1EG4TE5MK73 ", "jane@example.com", datetime.time(1), b"x", 1.5]
    )
    def test_it_refuses_any_key_part_that_is_not_an_id_or_a_code(self, part):
        with pytest.raises(TypeError):
            caching.make_key("fees", part)

    def test_it_refuses_an_unknown_kind(self):
        with pytest.raises(ValueError, match="Unknown cache kind"):
            caching.make_key("patients", 1)


class TestCachedAccess:
    def test_the_second_request_skips_the_membership_and_permission_queries(
        self, company, api_client_for
    ):
        billing = member(company, Role.BILLING, email="cache-billing@a.test")
        client = api_client_for(billing, company)
        with CaptureQueriesContext(connection) as first:
            assert client.get(CLAIMS).status_code == 200
        with CaptureQueriesContext(connection) as second:
            assert client.get(CLAIMS).status_code == 200
        assert "accounts_membership" in tables(first)
        assert "auth_permission" in tables(first)
        assert "accounts_membership" not in tables(second)
        assert "auth_permission" not in tables(second)
        assert len(second) <= len(first) - 3

    def test_a_role_change_is_seen_on_the_next_request(self, company, admin_user, api_client_for):
        clinician = member(company, Role.CLINICIAN, email="cache-clinician@a.test")
        client = api_client_for(clinician, company)
        assert client.get(CLAIMS).status_code == 403
        assert client.get(CLAIMS).status_code == 403  # served from the cache
        membership = clinician.memberships.get(company=company)
        services.change_role(membership, Role.BILLING, actor=admin_user)
        assert client.get(CLAIMS).status_code == 200
        membership.refresh_from_db()
        services.change_role(membership, Role.CLINICIAN, actor=admin_user)
        assert client.get(CLAIMS).status_code == 403

    def test_a_removed_member_is_refused_at_once(self, company, admin_user, api_client_for):
        billing = member(company, Role.BILLING, email="cache-billing@a.test")
        client = api_client_for(billing, company)
        assert client.get(CLAIMS).status_code == 200
        services.remove_member(billing.memberships.get(company=company), actor=admin_user)
        response = client.get(CLAIMS)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "membership_inactive"

    def test_a_deactivated_company_is_refused_at_once(self, company, api_client_for):
        billing = member(company, Role.BILLING, email="cache-billing@a.test")
        client = api_client_for(billing, company)
        assert client.get(CLAIMS).status_code == 200
        company.is_active = False
        company.save()
        assert client.get(CLAIMS).status_code == 401

    def test_an_expired_membership_is_not_served_from_the_cache(
        self, company, api_client_for, time_machine
    ):
        billing = member(company, Role.BILLING, email="cache-billing@a.test")
        membership = billing.memberships.get(company=company)
        membership.expires_on = timezone.localdate() + datetime.timedelta(days=1)
        membership.save()
        client = api_client_for(billing, company)
        assert client.get(CLAIMS).status_code == 200
        time_machine.move_to(timezone.now() + datetime.timedelta(days=3))
        client = api_client_for(billing, company)
        assert client.get(CLAIMS).status_code == 401

    def test_a_role_losing_a_permission_is_seen_on_the_next_request(self, company, api_client_for):
        from django.contrib.auth.models import Group, Permission

        from accounts.roles import group_name

        billing = member(company, Role.BILLING, email="cache-billing@a.test")
        client = api_client_for(billing, company)
        assert client.get(CLAIMS).status_code == 200
        group = Group.objects.get(name=group_name(Role.BILLING))
        group.permissions.remove(Permission.objects.get(codename="view_claim"))
        assert client.get(CLAIMS).status_code == 403

    def test_a_rolled_back_change_leaves_nothing_cached(self, company):
        from django.db import transaction

        from accounts.access_cache import active_membership

        user = member(company, Role.CLINICIAN, email="cache-clinician@a.test")
        membership = user.memberships.get(company=company)
        assert active_membership(user.pk, str(company.pk)).role == Role.CLINICIAN

        def change_then_fail():
            with transaction.atomic():
                membership.role = Role.BILLING
                membership.save()
                # Read inside the transaction: the uncommitted role must not be cached.
                assert active_membership(user.pk, str(company.pk)).role == Role.BILLING
                raise RuntimeError

        with pytest.raises(RuntimeError):
            change_then_fail()
        assert active_membership(user.pk, str(company.pk)).role == Role.CLINICIAN

    def test_each_company_sees_its_own_records_through_the_cache(
        self, company, other_company, api_client_for
    ):
        from tests.factories import MembershipFactory
        from tests.hme.factories import PayerFactory

        PayerFactory(company=company, name="Payer of A")
        PayerFactory(company=other_company, name="Payer of B")
        person = member(company, Role.BILLING, email="both@a.test")
        MembershipFactory(user=person, company=other_company, role=Role.BILLING)
        for _ in range(2):  # the second round is served from the cache
            names_a = [
                p["name"]
                for p in api_client_for(person, company).get("/api/v1/payers/").json()["results"]
            ]
            names_b = [
                p["name"]
                for p in api_client_for(person, other_company)
                .get("/api/v1/payers/")
                .json()["results"]
            ]
            assert names_a == ["Payer of A"]
            assert names_b == ["Payer of B"]


class TestNoPHIInKeys:
    def test_no_patient_data_in_any_cache_key(self, company, admin_user, api_client_for, client):
        from tests.clinical.factories import DiagnosisFactory, PatientFactory
        from tests.dme.factories import OrderFactory

        patient = PatientFactory(
            company=company,
            first_name="Zebulon",
            last_name="Quixotic",
            phone="(614) 555-0199",
            dob=datetime.date(1950, 1, 2),
        )
        DiagnosisFactory(patient=patient, code="G4733")
        OrderFactory(company=company, patient=patient)
        billing = member(company, Role.BILLING, email="cache-billing@a.test")
        client = api_client_for(billing, company)
        for url in ("/api/v1/patients/", "/api/v1/orders/", f"/api/v1/patients/{patient.pk}/"):
            assert client.get(url).status_code == 200, url
        client.force_login(admin_user)
        assert client.get(f"/admin/clinical/patient/{patient.pk}/change/").status_code == 200
        keys = all_keys()
        assert any("cache:access:" in key for key in keys)
        forbidden = ["Zebulon", "Quixotic", "555-0199", "5550199", "1950-01-02", "19500102"]
        for key in keys:
            for value in forbidden:
                assert value.lower() not in key.lower(), key


class TestReferenceData:
    def test_icd10_codes_are_read_once_and_reloads_invalidate(self, django_assert_num_queries):
        from clinical.models import ICD10Code
        from clinical.reference import icd10_codes, icd10_table_loaded, invalidate_icd10

        ICD10Code.objects.create(code="G4733", description="Obstructive sleep apnea", billable=True)
        with django_assert_num_queries(2):
            assert set(icd10_codes(["G4733", "J449"])) == {"G4733"}
            assert icd10_table_loaded()
        with django_assert_num_queries(0):
            assert icd10_codes(["G4733", "J449"])["G4733"].billable
            assert icd10_table_loaded()
        # The loader's bulk writes send no signal: it invalidates the kind itself.
        ICD10Code.objects.filter(code="G4733").update(billable=False)
        invalidate_icd10()
        assert not icd10_codes(["G4733"])["G4733"].billable
        # An edit in the admin (a save) invalidates through the signal.
        code = ICD10Code.objects.get(code="G4733")
        code.billable = True
        code.save()
        assert icd10_codes(["G4733"])["G4733"].billable

    def test_fees_are_cached_per_company_and_invalidated_by_a_save(
        self, company, other_company, django_assert_num_queries
    ):
        from decimal import Decimal

        from hme.models import FeeBand
        from hme.services.fees import fee_in_force
        from tests.hme.factories import FeeScheduleEntryFactory, PayerFactory

        day = datetime.date(2026, 6, 1)
        payer = PayerFactory(company=company)
        entry = FeeScheduleEntryFactory(
            company=company,
            payer=payer,
            hcpcs="E0601",
            modifier="RR",
            state="",
            band=FeeBand.RENTAL_1_3,
            allowable=Decimal("100.00"),
            effective_from=datetime.date(2026, 1, 1),
        )
        other_payer = PayerFactory(company=other_company)

        def lookup(on_payer=payer):
            return fee_in_force(on_payer, "E0601", FeeBand.RENTAL_1_3, day, "", ["RR"])

        with django_assert_num_queries(1):
            assert lookup().allowable == Decimal("100.00")
        with django_assert_num_queries(0):
            assert lookup().allowable == Decimal("100.00")
            assert lookup().payer.name == payer.name  # loaded with the entry
        assert lookup(other_payer) is None  # another company's payer: its own entry
        entry.allowable = Decimal("90.00")
        entry.save()
        assert lookup().allowable == Decimal("90.00")
