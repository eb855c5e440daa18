"""The unit's whole life: sold, lost, junked, transferred out, on loan (and back), each
allowed move from the transition table and each refused one; recalls and warranty."""

import datetime

import pytest
from django.utils import timezone

from core.exceptions import InvalidTransition, ServiceError
from dme import services
from dme.choices import AssetStatus
from dme.models import Asset, StockLevel
from dme.transitions import ASSET_TRANSITIONS, UNIT_LIFE_TRANSITIONS
from tests.clinical.factories import PatientFactory

from .factories import AssetFactory, StockLevelFactory
from .inventory_factories import RecallFactory

pytestmark = pytest.mark.django_db

S = AssetStatus


@pytest.fixture
def patient(company):
    return PatientFactory(company=company)


@pytest.fixture
def unit(company, cpap, warehouse):
    StockLevelFactory(company=company, equipment=cpap, location=warehouse, on_hand=1)
    return AssetFactory(
        company=company, equipment=cpap, location=warehouse, serial_number="SN00000042"
    )


def on_hand(unit, location):
    return StockLevel.objects.get(equipment=unit.equipment, location=location).on_hand


def test_the_life_block_is_in_the_asset_table():
    for status, targets in UNIT_LIFE_TRANSITIONS.items():
        assert targets <= ASSET_TRANSITIONS[status], status
    for final in (S.SOLD, S.JUNKED, S.TRANSFERRED_OUT, S.RETIRED):
        assert ASSET_TRANSITIONS[final] == set(), final


@pytest.mark.parametrize("target", [S.SOLD, S.LOST, S.JUNKED, S.TRANSFERRED_OUT])
def test_a_unit_in_stock_leaves_the_stock(unit, warehouse, target):
    services.change_unit_life(unit, target, reason="Counted at the audit")
    unit.refresh_from_db()
    assert (unit.status, unit.location_id) == (target, None)
    assert on_hand(unit, warehouse) == 0
    # Final moves stay final; a lost unit may only come back to stock.
    for other in (S.SOLD, S.JUNKED, S.TRANSFERRED_OUT, S.ON_LOAN):
        if other != target:
            with pytest.raises(InvalidTransition):
                services.change_unit_life(unit, other, reason="again")


def test_a_loaner_goes_out_and_comes_back(unit, warehouse, patient):
    with pytest.raises(ServiceError, match="who borrows"):
        services.change_unit_life(unit, S.ON_LOAN, reason="While theirs is repaired")
    services.change_unit_life(unit, S.ON_LOAN, reason="While theirs is repaired", patient=patient)
    unit.refresh_from_db()
    assert (unit.status, unit.patient_id, unit.location_id) == (S.ON_LOAN, patient.pk, None)
    assert on_hand(unit, warehouse) == 0
    with pytest.raises(ServiceError, match="where"):
        services.change_unit_life(unit, S.IN_STOCK, reason="Returned")
    services.change_unit_life(unit, S.IN_STOCK, reason="Returned", location=warehouse)
    unit.refresh_from_db()
    assert (unit.status, unit.patient_id, unit.location_id) == (S.IN_STOCK, None, warehouse.pk)
    assert on_hand(unit, warehouse) == 1


def test_a_lost_unit_found_is_back_in_stock(unit, warehouse):
    services.change_unit_life(unit, S.LOST, reason="Not on the shelf")
    services.change_unit_life(unit, S.IN_STOCK, reason="Found in van 7", location=warehouse)
    unit.refresh_from_db()
    assert unit.status == S.IN_STOCK
    assert on_hand(unit, warehouse) == 1


def test_a_unit_with_a_patient_is_sold_to_them_or_lost(unit, patient):
    Asset.objects.filter(pk=unit.pk).update(status=S.WITH_PATIENT, location=None, patient=patient)
    StockLevel.objects.filter(equipment=unit.equipment).update(on_hand=0)
    services.change_unit_life(unit, S.SOLD, reason="Title passed after 13 months")
    unit.refresh_from_db()
    assert (unit.status, unit.patient_id) == (S.SOLD, patient.pk)


def test_it_refuses_unknown_moves_and_keeps_reserved_stock(company, unit, warehouse):
    with pytest.raises(ServiceError, match="not a unit status"):
        services.change_unit_life(unit, "stolen", reason="x")
    with pytest.raises(ServiceError, match="this way"):
        services.change_unit_life(unit, S.RESERVED, reason="x")
    with pytest.raises(ServiceError, match="Say why"):
        services.change_unit_life(unit, S.LOST, reason=" ")
    with pytest.raises(InvalidTransition):
        services.change_unit_life(unit, S.IN_STOCK, reason="x", location=warehouse)
    Asset.objects.filter(pk=unit.pk).update(status=S.IN_MAINTENANCE)
    with pytest.raises(InvalidTransition):
        services.change_unit_life(unit, S.SOLD, reason="x")
    services.change_unit_life(unit, S.JUNKED, reason="Beyond repair")
    # A reserved unit's stock is not taken by a life move.
    StockLevel.objects.filter(equipment=unit.equipment).update(on_hand=1, reserved=1)
    other = AssetFactory(company=company, equipment=unit.equipment, location=warehouse)
    with pytest.raises(ServiceError, match="reserved"):
        services.change_unit_life(other, S.LOST, reason="x")


def test_recall_lookup_by_serial_and_warranty(company, other_company, unit):
    unit.equipment.model_number = "AirSense 10"
    unit.equipment.save()
    unit.warranty_ends_on = timezone.localdate() + datetime.timedelta(days=30)
    unit.save()
    by_range = RecallFactory(company=company)
    by_list = RecallFactory(
        company=company, serial_from="", serial_to="", serial_numbers=["SN00000042"]
    )
    RecallFactory(company=company, serial_from="SN00000100", serial_to="SN00000199")
    RecallFactory(company=company, model_number="AirSense 11")
    RecallFactory(company=other_company)
    [found] = services.lookup_serial(company.pk, " sn00000042 ")
    assert found.asset == unit
    assert set(found.recalls) == {by_range, by_list}
    assert found.under_warranty is True
    assert services.recalled_units(by_range) == [unit]
    assert services.lookup_serial(other_company.pk, "SN00000042") == []
    with pytest.raises(ServiceError):
        services.lookup_serial(company.pk, "  ")


def test_a_whole_model_recall_covers_every_serial():
    recall = RecallFactory.build(serial_from="", serial_to="", serial_numbers=[])
    assert recall.covers("ANYTHING")
    ranged = RecallFactory.build(serial_from="A100", serial_to="A199")
    assert ranged.covers("a150")
    assert not ranged.covers("A1500")
    assert not ranged.covers("A200")
