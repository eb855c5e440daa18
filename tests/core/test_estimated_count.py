"""Big lists count from PostgreSQL's estimate when nothing but the tenant scope applies:
staff lists always carry the company condition, which used to force a COUNT(*)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.choices import Role
from accounts.models import Membership
from clinical.models import Patient
from core import pagination as core_pagination
from core.pagination import EstimatedCountPaginator, _tenant_scope_only
from dme.models import Delivery, Order
from tests.clinical.factories import PatientFactory
from tests.factories import LocationFactory, member


@pytest.mark.django_db
def test_only_the_tenant_scope_counts_as_no_filter(company):
    user = member(company, Role.INTAKE)
    patients = Patient.objects.for_user(user)
    assert _tenant_scope_only(Patient.objects.all())
    assert _tenant_scope_only(patients)
    assert _tenant_scope_only(patients.order_by("last_name").select_related("home_location"))
    assert not _tenant_scope_only(patients.filter(status="active"))
    assert not _tenant_scope_only(patients.search("smi"))
    assert not _tenant_scope_only(patients.exclude(company=None))


@pytest.mark.django_db
def test_the_membership_locations_are_tenant_scope_too(company):
    user = member(company, Role.WAREHOUSE)
    Membership.objects.get(user=user).locations.add(LocationFactory(company=company))
    orders = Order.objects.for_user(user)
    assert "location_id" in str(orders.query)
    assert _tenant_scope_only(orders)
    assert _tenant_scope_only(Delivery.objects.for_user(user))  # through order__location
    assert not _tenant_scope_only(orders.filter(status="received"))


@pytest.mark.django_db
def test_a_scoped_list_counts_from_the_planner_estimate(postgres_only, company, monkeypatch):
    user = member(company, Role.INTAKE)
    PatientFactory.create_batch(3, company=company)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE clinical_patient")
    monkeypatch.setattr(core_pagination, "ESTIMATE_FROM", 1)
    scoped = Patient.objects.for_user(user).order_by("last_name")
    with CaptureQueriesContext(connection) as captured:
        count = EstimatedCountPaginator(scoped, 50).count
    sql = " ".join(query["sql"] for query in captured)
    assert count >= 1
    assert "EXPLAIN" in sql
    assert "COUNT(" not in sql

    with CaptureQueriesContext(connection) as captured:
        assert EstimatedCountPaginator(scoped.filter(status="active"), 50).count == 3
    assert "COUNT(" in " ".join(query["sql"] for query in captured)


@pytest.mark.django_db
def test_small_lists_are_counted_exactly(company):
    user = member(company, Role.INTAKE)
    PatientFactory.create_batch(2, company=company)
    assert EstimatedCountPaginator(Patient.objects.for_user(user), 50).count == 2
