"""DME part of the bulk demo data (``manage.py seed_demo --scale N``): orders for the
patients the clinical part added, in every status, with what each status implies.

About 1.45 orders a patient with 1-3 lines, chosen from the patient's first diagnosis
(sleep apnea: CPAP and supplies; COPD: oxygen; ...) from the demo catalogue:

- confirmed and scheduled orders hold their stock: lines reserved, serialized units
  reserved for the line at the warehouse; scheduled ones have their delivery planned;
- delivered orders have a completed delivery with the proof (items, quantities, serial
  numbers, signer or tracking number); their units are with the patient and each
  rental line has its rental(s), some of them since picked up (units back at the
  warehouse in maintenance or in stock, with the maintenance log entry);
- cancelled orders hold nothing.

Stock levels are then moved once per item through ``dme.services.change_stock`` (its
guards hold, and the move is in the level's audit history): on hand grows by the units
and quantities now reserved or back, plus spares; reserved by what the open orders hold.
Months billed and capping are left to billing (``hme.demo_scale``).
"""

import datetime
from collections import defaultdict
from decimal import Decimal
from types import SimpleNamespace

from django.utils import timezone

from accounts.choices import LocationKind, Role
from clinical.choices import PatientStatus
from clinical.demo_scale import scaled_diagnoses, scaled_patients
from core.exceptions import ServiceError
from core.seeding import Batch, each_batch, insert, money, row, weighted

from .choices import (
    AssetStatus,
    BillingKind,
    DeliveryMethod,
    DeliveryStatus,
    LineKind,
    MaintenanceKind,
    OrderStatus,
    RentalStatus,
    SignerRelationship,
)
from .models import (
    Asset,
    Delivery,
    DeliveryItem,
    Equipment,
    MaintenanceRecord,
    Order,
    OrderLine,
    OrderNumberCounter,
    Rental,
    StockLevel,
)
from .models.orders import format_order_number
from .services import change_stock, patient_address
from .services.rentals import RETURN_WORK

R, P = LineKind.RENTAL, LineKind.PURCHASE
# An order template's lines: (HCPCS, quantity, kind, modifiers).
LineTemplate = tuple[str, int, LineKind, list[str]]
CPAP = [("E0601", 1, R, ["RR", "KX"]), ("A7030", 1, P, ["KX"]), ("A7037", 1, P, ["KX"])]
CPAP_HUMIDIFIER = [("E0601", 1, R, ["RR", "KX"]), ("E0562", 1, R, ["RR", "KX"])]
BIPAP = [("E0470", 1, R, ["RR", "KX"]), ("A7030", 1, P, ["KX"])]
RESUPPLY = [("A7034", 1, P, ["KX"]), ("A7037", 1, P, ["KX"]), ("A4604", 1, P, ["KX"])]
OXYGEN = [("E1390", 1, R, ["RR"])]
OXYGEN_WALKER = [("E1390", 1, R, ["RR"]), ("E0143", 1, P, ["NU"])]
STRIPS: list[LineTemplate] = [("A4253", 2, P, [])]
STRIPS_WALKER = [("A4253", 3, P, []), ("E0143", 1, P, ["NU"])]
WALKER = [("E0143", 1, P, ["NU"])]
WHEELCHAIR = [("K0001", 1, R, ["RR", "KX"])]
BED = [("E0260", 1, R, ["RR", "KX"])]
DRESSINGS: list[LineTemplate] = [("A6212", 10, P, [])]
BED_DRESSINGS = [("E0260", 1, R, ["RR", "KX"]), ("A6212", 10, P, [])]
# The patient's first diagnosis (stored code) -> [(order template, weight)].
TEMPLATES = {
    "G4733": [(CPAP, 40), (CPAP_HUMIDIFIER, 20), (BIPAP, 10), (RESUPPLY, 30)],
    "J449": [(OXYGEN, 85), (OXYGEN_WALKER, 15)],
    "E1165": [(STRIPS, 75), (STRIPS_WALKER, 25)],
    "M1711": [(WALKER, 60), (WHEELCHAIR, 40)],
    "I509": [(BED, 50), (DRESSINGS, 30), (BED_DRESSINGS, 20)],
    "I69351": [(WHEELCHAIR, 60), (WALKER, 40)],
}
DEFAULT_TEMPLATES = [(WALKER, 1)]
ORDERS_PER_PATIENT = [(0, 10), (1, 45), (2, 35), (3, 10)]
OPEN_STATUSES = [
    (OrderStatus.RECEIVED, 6),
    (OrderStatus.VERIFIED, 5),
    (OrderStatus.CONFIRMED, 6),
    (OrderStatus.SCHEDULED, 7),
    (OrderStatus.DELIVERED, 68),
    (OrderStatus.CANCELLED, 8),
]
# Days since the written order, by status (delivered ones: from the delivery date).
WRITTEN_AGES = {
    OrderStatus.RECEIVED: (0, 4),
    OrderStatus.VERIFIED: (1, 6),
    OrderStatus.CONFIRMED: (2, 8),
    OrderStatus.SCHEDULED: (3, 10),
    OrderStatus.CANCELLED: (5, 300),
}
# Patients no longer active only have history.
CLOSED_STATUSES = [(OrderStatus.DELIVERED, 85), (OrderStatus.CANCELLED, 15)]
# Days since delivery: half in the last quarter, a fifth over six months ago.
DELIVERY_AGES = [((1, 90), 50), ((91, 180), 30), ((181, 420), 20)]
RETURNED_SHARE = 0.15
SIGNERS = [
    (SignerRelationship.PATIENT, 70),
    (SignerRelationship.SPOUSE, 15),
    (SignerRelationship.CHILD, 8),
    (SignerRelationship.CAREGIVER, 7),
]
DESIGNEE_FIRST_NAMES = ["Alex", "Jordan", "Taylor", "Morgan", "Casey", "Jamie", "Robin", "Avery"]
CANCEL_REASONS = [
    "Patient chose another supplier.",
    "Insurance denied the prior request; patient declined to self-pay.",
    "Duplicate of an order already on file.",
    "Prescriber withdrew the order.",
]
# Spare units and quantities put on hand per 1,000 new patients, per catalogue item.
SPARES_PER_THOUSAND = 20


def seed_scale(context, plan):
    if not plan.count:
        return
    company = context.company
    catalogue = {}
    for equipment in Equipment.objects.filter(company=company, is_active=True).order_by("name"):
        catalogue.setdefault(equipment.hcpcs_code, equipment)
    warehouse = next(
        (loc for loc in context.locations if loc.kind == LocationKind.WAREHOUSE),
        context.locations[0],
    )
    state = SimpleNamespace(
        rng=plan.rng("dme"),
        today=timezone.localdate(),
        now=timezone.now(),
        catalogue=catalogue,
        warehouse=warehouse,
        driver=context.users.get(Role.WAREHOUSE),
        on_hand=defaultdict(int),  # equipment id -> units/quantity to add on hand
        reserved=defaultdict(int),  # equipment id -> quantity to add reserved
        serial=0,
        serial_tag=f"S{plan.first_number:07d}",
    )
    OrderNumberCounter.objects.get_or_create(pk=company.pk)
    counter = OrderNumberCounter.objects.select_for_update().get(pk=company.pk)
    state.next_number = counter.last_number + 1
    fields = ["first_name", "last_name", "status", "primary_prescriber_id"]
    fields += ["address_line1", "address_line2", "city", "state", "postal_code"]
    for batch in each_batch(context, "dme", plan, _inputs(context, plan, fields)):
        _seed_batch(context, state, batch.patients, batch.diagnoses)
    counter.last_number = state.next_number - 1
    counter.save(update_fields=["last_number"])
    _move_stock(context, state)


def _inputs(context, plan, fields):
    """Each batch's patients and their diagnoses: what clinical wrote, read before the
    last batch's writes are made (``core.seeding.each_batch``)."""
    for patients in scaled_patients(context, plan, *fields):
        diagnoses = scaled_diagnoses([patient["id"] for patient in patients])
        yield Batch(patients=patients, diagnoses=diagnoses)


def _seed_batch(context, state, patients, diagnoses):
    rng = state.rng
    rows = SimpleNamespace(
        orders=[], lines=[], deliveries=[], items=[], rentals=[], assets=[], maintenance=[]
    )
    for patient in patients:
        if patient["primary_prescriber_id"] is None:
            continue
        codes = diagnoses.get(patient["id"], [])
        templates = TEMPLATES.get(codes[0] if codes else "", DEFAULT_TEMPLATES)
        active = patient["status"] == PatientStatus.ACTIVE
        # A HCPCS code once per patient: two rentals of it (or two deliveries of it on
        # the same day) would bill the same service twice (hme.claimline_duplicate_service).
        ordered = set()
        for _ in range(weighted(rng, ORDERS_PER_PATIENT)):
            template = [
                line
                for line in weighted(rng, templates)
                if line[0] in state.catalogue and line[0] not in ordered
            ]
            ordered.update(line[0] for line in template)
            if template:
                status = weighted(rng, OPEN_STATUSES if active else CLOSED_STATUSES)
                _order(context, state, rows, patient, template, status, active)
    # Spare units and quantities at the warehouse, so that stock is never all spoken for.
    spares = max(1, len(patients) * SPARES_PER_THOUSAND // 1000)
    for equipment in state.catalogue.values():
        if equipment.is_serialized:
            for _ in range(spares):
                rows.assets.append(_asset(state, equipment, status=AssetStatus.IN_STOCK))
        state.on_hand[equipment.pk] += spares
    insert(context, Order, rows.orders, "orders")
    insert(context, OrderLine, rows.lines, "order lines")
    insert(context, Asset, rows.assets, "serialized units")
    insert(context, Delivery, rows.deliveries, "deliveries")
    insert(context, DeliveryItem, rows.items, "delivery items")
    insert(context, Rental, rows.rentals, "rentals")
    insert(context, MaintenanceRecord, rows.maintenance, "maintenance records")


def _at(day, hour):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


def _order(context, state, rows, patient, template, status, active):
    rng, today = state.rng, state.today
    if status == OrderStatus.DELIVERED:
        low, high = weighted(rng, DELIVERY_AGES)
        delivered_on = today - datetime.timedelta(days=rng.randint(low, high))
        written = delivered_on - datetime.timedelta(days=rng.randint(2, 7))
    else:
        delivered_on = None
        written = today - datetime.timedelta(days=rng.randint(*WRITTEN_AGES[status]))
    unsigned = status == OrderStatus.RECEIVED and rng.random() < 0.3
    reached = _reached(status)
    order = row(
        Order,
        company=context.company,
        number=format_order_number(state.next_number),
        patient_id=patient["id"],
        prescriber_id=patient["primary_prescriber_id"],
        location=state.warehouse,
        written_order_date=written,
        prescriber_signed_on=None if unsigned else written,
        status=status,
        notes="",
        verified_at=min(_at(written, 11), state.now) if OrderStatus.VERIFIED in reached else None,
        confirmed_at=(
            min(_at(written + datetime.timedelta(days=1), 9), state.now)
            if OrderStatus.CONFIRMED in reached
            else None
        ),
        delivered_on=delivered_on,
    )
    state.next_number += 1
    if status == OrderStatus.CANCELLED:
        order.cancelled_at = min(
            _at(written + datetime.timedelta(days=rng.randint(1, 5)), 15), state.now
        )
        order.cancellation_reason = rng.choice(CANCEL_REASONS)
    rows.orders.append(order)
    holds = status in (OrderStatus.CONFIRMED, OrderStatus.SCHEDULED)
    lines = []
    for hcpcs, quantity, kind, modifiers in template:
        equipment = state.catalogue[hcpcs]
        line = row(
            OrderLine,
            company=context.company,
            order=order,
            equipment=equipment,
            quantity=quantity,
            kind=kind,
            modifiers=list(modifiers),
            unit_price=(
                equipment.monthly_rental_fee
                if kind == LineKind.RENTAL
                else equipment.purchase_price
            ),
            reserved_quantity=quantity if holds else 0,
            delivered_quantity=quantity if status == OrderStatus.DELIVERED else 0,
        )
        lines.append(line)
        if holds:
            state.reserved[equipment.pk] += quantity
            state.on_hand[equipment.pk] += quantity
            if equipment.is_serialized:
                for _ in range(quantity):
                    rows.assets.append(
                        _asset(state, equipment, status=AssetStatus.RESERVED, reserved_for=line)
                    )
    rows.lines.extend(lines)
    shipped = all(line.equipment.billing_kind == BillingKind.SUPPLY for line in lines)
    if status == OrderStatus.SCHEDULED or (status == OrderStatus.CANCELLED and rng.random() < 0.2):
        delivery = _delivery(context, state, order, patient, shipped)
        if status == OrderStatus.CANCELLED:
            delivery.status = DeliveryStatus.CANCELLED
            delivery.scheduled_date = written + datetime.timedelta(days=3)
            delivery.cancelled_at = order.cancelled_at
        rows.deliveries.append(delivery)
    elif status == OrderStatus.DELIVERED:
        _deliver(context, state, rows, order, lines, patient, shipped, active)


def _reached(status):
    path = [OrderStatus.VERIFIED, OrderStatus.CONFIRMED, OrderStatus.SCHEDULED]
    if status in (OrderStatus.RECEIVED, OrderStatus.CANCELLED):
        return set()
    if status == OrderStatus.DELIVERED:
        return set(path)
    return set(path[: path.index(status) + 1])


def _delivery(context, state, order, patient, shipped):
    rng = state.rng
    morning = rng.random() < 0.6
    return row(
        Delivery,
        company=context.company,
        order=order,
        status=DeliveryStatus.SCHEDULED,
        method=DeliveryMethod.SHIPPED if shipped else DeliveryMethod.DRIVER,
        scheduled_date=state.today + datetime.timedelta(days=rng.randint(1, 5)),
        window_start=datetime.time(9 if morning else 13),
        window_end=datetime.time(12 if morning else 16),
        address=patient_address(SimpleNamespace(**patient)) or "Address on file",
        driver=None if shipped else state.driver,
        carrier="UPS" if shipped else "",
        instructions="",
    )


def _deliver(context, state, rows, order, lines, patient, shipped, active):
    """The completed delivery with its proof, units with the patient, rentals."""
    rng = state.rng
    day = order.delivered_on
    delivery = _delivery(context, state, order, patient, shipped)
    full_name = f"{patient['first_name']} {patient['last_name']}"
    delivery.status = DeliveryStatus.DELIVERED
    delivery.scheduled_date = day
    delivery.delivered_on = day
    delivery.patient_name = full_name
    delivery.completed_by = state.driver
    if shipped:
        delivery.tracking_number = f"1Z999AA1{order.number[2:]:0>8}"
    else:
        relationship = weighted(rng, SIGNERS)
        delivery.signer_relationship = relationship
        delivery.signer_name = (
            full_name
            if relationship == SignerRelationship.PATIENT
            else f"{rng.choice(DESIGNEE_FIRST_NAMES)} {patient['last_name']}"
        )
        delivery.signed_at = _at(day, 10 if delivery.window_start.hour == 9 else 14)
    rows.deliveries.append(delivery)
    for line in lines:
        equipment = line.equipment
        units = []
        if equipment.is_serialized:
            units = [
                _asset(state, equipment, status=AssetStatus.WITH_PATIENT, patient=patient)
                for _ in range(line.quantity)
            ]
            rows.assets.extend(units)
        rows.items.append(
            row(
                DeliveryItem,
                company=context.company,
                delivery=delivery,
                order_line=line,
                description=_describe(line),
                quantity=line.quantity,
                serial_numbers=sorted(unit.serial_number for unit in units),
            )
        )
        if line.kind != LineKind.RENTAL:
            continue
        common = {
            "company": context.company,
            "patient_id": patient["id"],
            "order": order,
            "order_line": line,
            "equipment": equipment,
            "start_date": day,
            "cap_months": equipment.rental_cap_months,
            "monthly_fee": line.unit_price,
        }
        rentals = (
            [row(Rental, asset=unit, quantity=1, **common) for unit in units]
            if units
            else [row(Rental, quantity=line.quantity, **common)]
        )
        for rental in rentals:
            age = (state.today - day).days
            # Not active any more, or picked up early: the unit came back. Capped
            # rentals belong to the patient, so only ones shorter than a year return.
            if not active or (age > 45 and rng.random() < RETURNED_SHARE):
                _return(context, state, rows, rental, min(age, 300))
        rows.rentals.extend(rentals)


def _return(context, state, rows, rental, max_days):
    rng = state.rng
    returned_on = rental.start_date + datetime.timedelta(days=rng.randint(0, max(max_days, 0)))
    returned_on = min(returned_on, state.today)
    rental.status = RentalStatus.RETURNED
    rental.end_date = rental.returned_on = returned_on
    rental.picked_up_by = state.driver
    rental.return_location = state.warehouse
    rental.return_notes = "Demo: picked up in good condition."
    driver_name = state.driver.get_full_name() if state.driver else ""
    if rental.asset is None:
        state.on_hand[rental.equipment.pk] += rental.quantity
        return
    unit = rental.asset
    unit.patient_id = None
    unit.location = state.warehouse
    unit.status = AssetStatus.IN_MAINTENANCE
    rows.maintenance.append(
        row(
            MaintenanceRecord,
            company=context.company,
            asset=unit,
            performed_on=returned_on,
            kind=MaintenanceKind.RETURN,
            work_done=RETURN_WORK,
            performed_by=driver_name,
            technician=state.driver,
        )
    )
    if returned_on <= state.today - datetime.timedelta(days=7) or rng.random() < 0.5:
        # Cleaned and back in stock since.
        unit.status = AssetStatus.IN_STOCK
        state.on_hand[rental.equipment.pk] += 1
        rows.maintenance.append(
            row(
                MaintenanceRecord,
                company=context.company,
                asset=unit,
                performed_on=min(returned_on + datetime.timedelta(days=2), state.today),
                kind=MaintenanceKind.CLEANING,
                work_done="Cleaned, checked and back in stock.",
                performed_by=driver_name,
                technician=state.driver,
            )
        )


def _asset(state, equipment, *, status, reserved_for=None, patient=None):
    state.serial += 1
    price = max(equipment.purchase_price, equipment.monthly_rental_fee * 6)
    at_warehouse = status in (AssetStatus.IN_STOCK, AssetStatus.RESERVED)
    return row(
        Asset,
        company_id=equipment.company_id,
        equipment=equipment,
        serial_number=f"{equipment.hcpcs_code}-{state.serial_tag}-{state.serial:06d}",
        status=status,
        location=state.warehouse if at_warehouse else None,
        patient_id=patient["id"] if patient else None,
        reserved_for=reserved_for,
        purchase_date=state.today - datetime.timedelta(days=state.rng.randint(430, 900)),
        purchase_cost=money(price * Decimal("0.6")),
    )


def _describe(line):
    """As ``complete_delivery`` describes a line on the proof of delivery."""
    modifiers = "-".join(line.modifiers or [])
    text = line.equipment.item_description
    return f"{text} [{modifiers}]" if modifiers else text


def _move_stock(context, state):
    """Put the run's units and quantities on hand and reserved, one guarded update per
    item (``change_stock``: audited, never below the invariants)."""
    reason = "Bulk demo data (seed_demo --scale)"
    for equipment_id in sorted(set(state.on_hand) | set(state.reserved), key=str):
        StockLevel.objects.get_or_create(
            company=context.company, equipment_id=equipment_id, location=state.warehouse
        )
        moved = change_stock(
            equipment_id,
            state.warehouse.pk,
            on_hand=state.on_hand[equipment_id],
            reserved=state.reserved[equipment_id],
            reason=reason,
        )
        if moved is None:
            raise ServiceError("The bulk stock move would break a stock invariant.")
