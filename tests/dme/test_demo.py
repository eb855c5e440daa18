"""seed_demo: a consistent DME demo (every order status, active rentals, stock that
matches the units), created once."""

import pytest
from django.core.management import call_command
from django.db.models import Count, Q

from core.quality.registry import Outcome, get_checks
from core.validators import validate_hcpcs
from dme.choices import AssetStatus, OrderStatus, RentalStatus
from dme.models import Asset, Delivery, Equipment, Order, OrderLine, Rental, StockLevel

MODELS = [Equipment, StockLevel, Asset, Order, OrderLine, Delivery, Rental]


@pytest.mark.django_db
def test_it_seeds_dme_data_once(capsys):
    call_command("seed_demo", allow_production=True)
    counts = {model: model.objects.count() for model in MODELS}
    output = capsys.readouterr().out
    call_command("seed_demo", allow_production=True)
    assert {model: model.objects.count() for model in MODELS} == counts
    assert "13 catalogue items" in output
    assert "16 orders" in output

    codes = set(Equipment.objects.values_list("hcpcs_code", flat=True))
    assert {"E0601", "E0470", "E1390", "K0001", "E0260", "A7030", "A7034", "E0562"} <= codes
    for code in codes:
        validate_hcpcs(code)
    assert set(Order.objects.values_list("status", flat=True)) == set(OrderStatus.values)
    rentals = Rental.objects.values("status").annotate(n=Count("id"))
    by_status = {row["status"]: row["n"] for row in rentals}
    assert by_status[RentalStatus.ACTIVE] >= 5
    assert by_status[RentalStatus.RETURNED] == 1
    assert StockLevel.objects.low().exists()
    delivered = Delivery.objects.filter(status="delivered")
    assert all(d.items.exists() for d in delivered)
    assert all(d.signer_name or d.tracking_number for d in delivered)


@pytest.mark.django_db
def test_the_demo_stock_matches_its_units():
    call_command("seed_demo", allow_production=True)
    for level in StockLevel.objects.filter(equipment__is_serialized=True):
        units = Asset.objects.filter(equipment=level.equipment, location=level.location)
        counted = units.aggregate(
            on_hand=Count("id", filter=Q(status__in=[AssetStatus.IN_STOCK, AssetStatus.RESERVED])),
            reserved=Count("id", filter=Q(status=AssetStatus.RESERVED)),
        )
        assert (level.on_hand, level.reserved) == (counted["on_hand"], counted["reserved"])
    for line in OrderLine.objects.filter(order__status=OrderStatus.CONFIRMED):
        assert line.reserved_quantity == line.quantity
    for check in get_checks():
        if check.name.startswith("dme."):
            result = check.function()  # rows, or an Outcome (freshness)
            assert not (result.count if isinstance(result, Outcome) else result.exists()), (
                check.name
            )
