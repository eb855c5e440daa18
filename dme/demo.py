"""DME demo data: a catalogue with real HCPCS codes and realistic prices, stock and
serialized units at the warehouse, orders in every status for the demo patients,
active rentals, a returned one.

Orders move through the services (verify, confirm, schedule, complete, return), so
stock, units and rentals agree exactly as they would in production. Serial numbers are
invented. Running it again creates nothing twice: the catalogue and units are looked
up first, and the orders are created only for a company that has none.
"""

import datetime
from decimal import Decimal

from django.utils import timezone

from accounts.choices import LocationKind, Role
from clinical.models import Patient

from . import services
from .choices import BillingKind, DeliveryMethod, EquipmentCategory, LineKind, SignerRelationship
from .models import (
    Asset,
    Equipment,
    Order,
    OrderLine,
    PurchaseOrder,
    StockLevel,
    Vendor,
    VendorItem,
)
from .services.purchasing import ReceiveItem

C = EquipmentCategory
K = BillingKind
# name, HCPCS, category, manufacturer, model, billing kind, purchase, monthly, serialized
CATALOGUE = [
    ("AirSense 11 AutoSet CPAP", "E0601", C.CPAP_BIPAP, "ResMed", "AirSense 11 AutoSet",
     K.CAPPED_RENTAL, "850.00", "85.00", True),
    ("AirCurve 10 VAuto BiPAP", "E0470", C.CPAP_BIPAP, "ResMed", "AirCurve 10 VAuto",
     K.CAPPED_RENTAL, "1750.00", "175.00", True),
    ("EverFlo 5 L oxygen concentrator", "E1390", C.OXYGEN, "Philips Respironics", "EverFlo",
     K.OXYGEN_RENTAL, "0.00", "172.00", True),
    ("Cruiser III standard wheelchair", "K0001", C.MOBILITY, "Drive Medical", "Cruiser III 18in",
     K.CAPPED_RENTAL, "365.00", "36.50", True),
    ("Semi-electric hospital bed with mattress", "E0260", C.HOSPITAL_BED, "Invacare",
     "5410IVC", K.CAPPED_RENTAL, "1450.00", "145.00", True),
    ("HumidAir heated humidifier", "E0562", C.CPAP_BIPAP, "ResMed", "HumidAir 11",
     K.CAPPED_RENTAL, "260.00", "26.00", False),
    ("AirFit F20 full face mask", "A7030", C.RESPIRATORY_SUPPLIES, "ResMed", "AirFit F20 M",
     K.SUPPLY, "165.00", "0.00", False),
    ("AirFit N20 nasal mask", "A7034", C.RESPIRATORY_SUPPLIES, "ResMed", "AirFit N20 M",
     K.SUPPLY, "110.00", "0.00", False),
    ("ClimateLineAir heated tubing", "A4604", C.RESPIRATORY_SUPPLIES, "ResMed",
     "ClimateLineAir 11", K.SUPPLY, "58.00", "0.00", False),
    ("Standard CPAP tubing", "A7037", C.RESPIRATORY_SUPPLIES, "ResMed", "SlimLine 6ft",
     K.SUPPLY, "32.00", "0.00", False),
    ("Folding walker with wheels", "E0143", C.MOBILITY, "Drive Medical", "10210-1",
     K.PURCHASE, "72.00", "0.00", False),
    ("Blood glucose test strips (50)", "A4253", C.DIABETIC_SUPPLIES, "Roche",
     "Accu-Chek Guide 50", K.SUPPLY, "34.00", "0.00", False),
    ("Foam dressing 4x4 in", "A6212", C.WOUND_CARE, "Mölnlycke", "Mepilex Border 4x4",
     K.SUPPLY, "11.50", "0.00", False),
]  # fmt: skip

# HCPCS -> (on hand, reorder point) for the counted items; a few are low on purpose.
SUPPLY_STOCK = {
    "E0562": (12, 4),
    "A7030": (40, 15),
    "A7034": (9, 12),
    "A4604": (25, 10),
    "A7037": (60, 20),
    "E0143": (6, 4),
    "A4253": (3, 10),
    "A6212": (120, 50),
}
# HCPCS -> (number of units, serial prefix, reorder point)
UNITS = {
    "E0601": (12, "23221D", 4),
    "E0470": (4, "22871B", 1),
    "E1390": (8, "EF5L-", 2),
    "K0001": (5, "DM18-", 2),
    "E0260": (4, "IV5410-", 1),
}

# The demo's orders: (patient index, lines, status to reach, days ago written).
# Lines are (HCPCS, quantity, kind, modifiers).
LineTemplate = tuple[str, int, LineKind, list[str]]
CPAP_SETUP = [
    ("E0601", 1, LineKind.RENTAL, ["RR", "KX"]),
    ("E0562", 1, LineKind.RENTAL, ["RR", "KX"]),
    ("A7030", 1, LineKind.PURCHASE, ["KX"]),
    ("A7037", 1, LineKind.PURCHASE, ["KX"]),
]
OXYGEN = [("E1390", 1, LineKind.RENTAL, ["RR"])]
WHEELCHAIR = [("K0001", 1, LineKind.RENTAL, ["RR", "KX"])]
BED = [("E0260", 1, LineKind.RENTAL, ["RR", "KX"])]
BIPAP = [("E0470", 1, LineKind.RENTAL, ["RR", "KX"]), ("A7030", 1, LineKind.PURCHASE, ["KX"])]
RESUPPLY = [("A7034", 1, LineKind.PURCHASE, ["KX"]), ("A7037", 1, LineKind.PURCHASE, ["KX"])]
WALKER = [("E0143", 1, LineKind.PURCHASE, ["NU"])]
STRIPS: list[LineTemplate] = [("A4253", 2, LineKind.PURCHASE, [])]
DRESSINGS: list[LineTemplate] = [("A6212", 10, LineKind.PURCHASE, [])]

RECEIVED, VERIFIED, CONFIRMED, SCHEDULED = "received", "verified", "confirmed", "scheduled"
DELIVERED, RETURNED, CANCELLED = "delivered", "returned", "cancelled"
ORDERS = [
    (0, CPAP_SETUP, DELIVERED, 120),
    (1, OXYGEN, DELIVERED, 95),
    (3, WHEELCHAIR, DELIVERED, 70),
    (5, BED, DELIVERED, 45),
    (7, BIPAP, DELIVERED, 30),
    (13, OXYGEN, RETURNED, 150),
    (2, CPAP_SETUP, SCHEDULED, 6),
    (4, RESUPPLY, SCHEDULED, 4),
    (8, CPAP_SETUP, CONFIRMED, 3),
    (10, WALKER, CONFIRMED, 2),
    (11, CPAP_SETUP, VERIFIED, 2),
    (14, STRIPS, VERIFIED, 1),
    (16, CPAP_SETUP, RECEIVED, 1),
    (17, DRESSINGS, RECEIVED, 0),
    (19, WHEELCHAIR, CANCELLED, 10),
    (6, STRIPS, DELIVERED, 20),
]


def _count(context, label, number):
    if number:
        context.count(label, number)


def _warehouse(context):
    for location in context.locations:
        if location.kind == LocationKind.WAREHOUSE:
            return location
    return context.locations[0]


def seed(context):
    warehouse = _warehouse(context)
    catalogue = seed_catalogue(context)
    seed_stock(context, catalogue, warehouse)
    seed_orders(context, catalogue, warehouse)
    seed_purchasing(context, catalogue, warehouse)


def seed_catalogue(context):
    catalogue, created = {}, 0
    for name, hcpcs, category, maker, model, kind, price, fee, serialized in CATALOGUE:
        equipment, was_created = Equipment.objects.get_or_create(
            company=context.company,
            hcpcs_code=hcpcs,
            manufacturer=maker,
            model_number=model,
            defaults={
                "name": name,
                "category": category,
                "billing_kind": kind,
                "purchase_price": Decimal(price),
                "monthly_rental_fee": Decimal(fee),
                "is_serialized": serialized,
            },
        )
        created += was_created
        catalogue[hcpcs] = equipment
    _count(context, "catalogue items", created)
    return catalogue


def seed_stock(context, catalogue, warehouse):
    levels = units = 0
    for hcpcs, (on_hand, reorder_point) in SUPPLY_STOCK.items():
        _, was_created = StockLevel.objects.get_or_create(
            company=context.company,
            equipment=catalogue[hcpcs],
            location=warehouse,
            defaults={"on_hand": on_hand, "reorder_point": reorder_point},
        )
        levels += was_created
    for hcpcs, (count, prefix, reorder_point) in UNITS.items():
        equipment = catalogue[hcpcs]
        for number in range(1, count + 1):
            serial = f"{prefix}{4100 + number:05d}"
            if Asset.objects.filter(equipment=equipment, serial_number=serial).exists():
                continue
            services.register_asset(
                Asset(
                    company=context.company,
                    equipment=equipment,
                    serial_number=serial,
                    location=warehouse,
                    purchase_date=datetime.date(2025, 1, 6) + datetime.timedelta(days=9 * number),
                    purchase_cost=(equipment.purchase_price * Decimal("0.6")).quantize(
                        Decimal("0.01")
                    ),
                )
            )
            units += 1
        StockLevel.objects.filter(equipment=equipment, location=warehouse).update(
            reorder_point=reorder_point
        )
    _count(context, "stock levels", levels)
    _count(context, "serialized units", units)


def seed_orders(context, catalogue, warehouse):
    company = context.company
    if Order.objects.filter(company=company).exists():
        return
    patients = list(Patient.objects.filter(company=company).active().order_by("number"))
    if not patients:
        return
    driver = context.users.get(Role.WAREHOUSE)
    today = timezone.localdate()
    orders = rentals = 0
    for index, lines, target, days_ago in ORDERS:
        patient = patients[index % len(patients)]
        prescriber = patient.primary_prescriber
        if prescriber is None:
            continue
        written = today - datetime.timedelta(days=days_ago)
        order = services.create_order(
            Order(
                company=company,
                patient=patient,
                prescriber=prescriber,
                location=warehouse,
                written_order_date=written,
                prescriber_signed_on=written,
                notes="Demo order: invented data.",
            ),
            [
                OrderLine(
                    equipment=catalogue[hcpcs], quantity=quantity, kind=kind, modifiers=modifiers
                )
                for hcpcs, quantity, kind, modifiers in lines
            ],
        )
        orders += 1
        rentals += _advance(order, target, written, warehouse, driver)
    _count(context, "orders", orders)
    _count(context, "rentals", rentals)


def _advance(order, target, written, warehouse, driver):
    """Move an order to ``target`` through the services; return rentals started."""
    if target == RECEIVED:
        return 0
    if target == CANCELLED:
        services.verify_order(order)
        services.confirm_order(order)
        services.cancel_order(order, reason="Patient chose another supplier.")
        return 0
    services.verify_order(order)
    if target == VERIFIED:
        return 0
    services.confirm_order(order)
    if target == CONFIRMED:
        return 0
    today = timezone.localdate()
    delivery_day = min(written + datetime.timedelta(days=3), today)
    shipped = all(line.equipment.billing_kind == BillingKind.SUPPLY for line in order.lines.all())
    delivery = services.schedule_delivery(
        order,
        scheduled_date=delivery_day if target != SCHEDULED else today + datetime.timedelta(days=2),
        window_start=datetime.time(9),
        window_end=datetime.time(12),
        method=DeliveryMethod.SHIPPED if shipped else DeliveryMethod.DRIVER,
        carrier="UPS" if shipped else "",
        driver=None if shipped else driver,
    )
    if target == SCHEDULED:
        return 0
    items = [
        {
            "order_line": line,
            "quantity": line.reserved_quantity,
            "serial_numbers": [asset.serial_number for asset in line.reserved_assets.all()],
        }
        for line in order.lines.prefetch_related("reserved_assets").select_related("equipment")
    ]
    services.complete_delivery(
        delivery,
        delivered_on=delivery_day,
        items=items,
        signer_name="" if shipped else order.patient.full_name,
        signer_relationship="" if shipped else SignerRelationship.PATIENT,
        signed_at=None
        if shipped
        else timezone.make_aware(datetime.datetime.combine(delivery_day, datetime.time(10))),
        tracking_number=f"1Z999AA1{order.number[-6:]}0784" if shipped else "",
        user=driver,
    )
    started = list(order.rentals.all())
    if target == RETURNED:
        for rental in started:
            services.return_rental(
                rental,
                returned_on=delivery_day + datetime.timedelta(days=60),
                location=warehouse,
                picked_up_by=driver,
                notes="Demo: picked up in good condition.",
            )
    return len(started)


# Purchasing (issue 20): two vendors, their items (preferred for the suggestion run),
# a sent purchase order partly received with serials (the rest backordered) and the
# draft the reorder-point run suggests. Created once per company.
VENDORS = [
    # name, account, contact, email, terms, lead time, {HCPCS: unit cost}
    (
        "Medline Industries",
        "MDL-40213",
        "Jordan Reyes",
        "orders@medline.example",
        "Net 30",
        5,
        {"A7030": "82.00", "A7034": "48.00", "A7037": "9.50", "E0601": "510.00"},
    ),
    (
        "Drive DeVilbiss Healthcare",
        "DRV-7781",
        "Casey Morgan",
        "sales@drive.example",
        "Net 45",
        10,
        {"K0001": "219.00", "E0260": "870.00", "E0143": "38.00"},
    ),
]


def seed_purchasing(context, catalogue, warehouse):
    company = context.company
    if Vendor.objects.filter(company=company).exists():
        return
    vendors = {}
    for name, account, contact, email, terms, lead, items in VENDORS:
        vendor = Vendor.objects.create(
            company=company,
            name=name,
            account_number=account,
            contact_name=contact,
            contact_email=email,
            terms=terms,
            lead_time_days=lead,
        )
        vendors[name] = vendor
        for hcpcs, cost in items.items():
            if hcpcs in catalogue:
                VendorItem.objects.create(
                    company=company,
                    vendor=vendor,
                    equipment=catalogue[hcpcs],
                    unit_cost=Decimal(cost),
                    is_preferred=True,
                )
    _count(context, "vendors", len(vendors))
    cpap = catalogue["E0601"]
    po = services.create_purchase_order(
        vendor=vendors["Medline Industries"],
        location=warehouse,
        lines=[{"equipment": cpap, "quantity": 3}],
        notes="Quarterly CPAP restock.",
    )
    services.send_purchase_order(po)
    line = po.lines.get()
    services.receive_purchase_order(
        po,
        [ReceiveItem(line.pk, 2, serial_numbers=["AS11P90001", "AS11P90002"])],
        packing_slip="MDL-PS-5521",
    )
    services.suggest_purchase_orders(company)
    _count(context, "purchase orders", PurchaseOrder.objects.filter(company=company).count())
