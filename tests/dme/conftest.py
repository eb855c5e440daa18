"""DME fixtures: a warehouse with stock, and a check after every test that no stock
level ever ended negative or over-reserved (the constraints refuse it too)."""

import pytest
from django.db.models import F, Q

from accounts.choices import Role
from tests.dme.factories import CPAPFactory, EquipmentFactory, WarehouseFactory
from tests.factories import member


@pytest.fixture(autouse=True)
def _stock_never_negative(request):
    uses_db = request.node.get_closest_marker("django_db") or (
        {"db", "transactional_db"} & set(request.fixturenames)
    )
    if not uses_db:
        yield
        return
    # Set the database up as our dependency, so this check runs before its rollback.
    request.getfixturevalue("_django_db_helper")
    yield
    from dme.models import StockLevel

    broken = StockLevel.objects.filter(
        Q(on_hand__lt=0) | Q(reserved__lt=0) | Q(reserved__gt=F("on_hand"))
    )
    assert not broken.exists(), list(broken.values("on_hand", "reserved"))


@pytest.fixture
def warehouse(company):
    return WarehouseFactory(company=company, name="Groveport Warehouse")


@pytest.fixture
def mask(company):
    return EquipmentFactory(company=company, name="Full face mask", hcpcs_code="A7030")


@pytest.fixture
def cpap(company):
    return CPAPFactory(company=company, name="CPAP", hcpcs_code="E0601")


@pytest.fixture
def driver(company):
    return member(
        company, Role.WAREHOUSE, email="driver@a.test", first_name="Dana", last_name="Driver"
    )
