"""Deliveries: schedule, cancel, complete with the proof of delivery."""

import datetime
import re
import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Value
from django.db.models.functions import Concat, Lower
from django.utils import timezone

from accounts.models import User
from clinical.models import Patient
from core.events import emit
from core.exceptions import ServiceError
from core.locks import lock_row
from core.notifications import notify_patient
from core.transitions import check_transition

from ..choices import (
    RENTED_LINE_KINDS,
    AssetStatus,
    DeliveryMethod,
    DeliveryStatus,
    OrderStatus,
    SignerRelationship,
)
from ..models import Asset, Delivery, DeliveryItem, Order, OrderLine, Rental
from ..models.deliveries import validate_signature_image
from ..notifications import DELIVERY_SCHEDULED
from ..transitions import DELIVERY_TRANSITIONS, check_order_transition
from .orders import lock_order
from .stock import change_stock

# Relationship values clients send for staff: refused with the rule, not "invalid".
STAFF_RELATIONSHIPS = {"supplier_staff", "supplier", "staff", "employee", "driver", "technician"}
# One checked proof-of-delivery item: its order line, the quantity as sent (equal to the
# line's reserved quantity once the proof is accepted) and the serial numbers.
CheckedItem = tuple[OrderLine, Any, list[str]]
SUPPLIER_STAFF_MESSAGE = (
    "Supplier staff may never sign a proof of delivery as the patient's designee: "
    "the patient or their designee (a relative, caregiver, guardian or facility staff) signs."
)


def patient_address(patient: Patient) -> str:
    """The patient's address on file as label lines ("" when there is none)."""
    street = ", ".join(part for part in (patient.address_line1, patient.address_line2) if part)
    place = " ".join(part for part in (patient.state, patient.postal_code) if part)
    city = ", ".join(part for part in (patient.city, place) if part)
    return "\n".join(part for part in (street, city) if part)


def schedule_delivery(
    order: Order,
    *,
    scheduled_date: datetime.date,
    window_start: datetime.time | None = None,
    window_end: datetime.time | None = None,
    method: str = DeliveryMethod.DRIVER,
    driver: User | None = None,
    address: str | None = "",
    carrier: str | None = "",
    tracking_number: str | None = "",
    instructions: str | None = "",
) -> Delivery:
    """Plan the delivery of a confirmed order: confirmed -> scheduled.

    The address defaults to the patient's address on file.
    """
    with transaction.atomic():
        order = lock_order(order)
        check_order_transition(order, OrderStatus.SCHEDULED)
        if scheduled_date < order.written_order_date:
            raise ServiceError(
                "The delivery cannot be before the written order date "
                f"({order.written_order_date:%m/%d/%Y}).",
                fields={"scheduled_date": ["Before the written order date."]},
            )
        address = (address or "").strip() or patient_address(order.patient)
        if not address:
            raise ServiceError(
                "The patient has no address on file: give the delivery address.",
                fields={"address": ["Required: no address on file."]},
            )
        delivery = Delivery(
            company_id=order.company_id,
            order=order,
            scheduled_date=scheduled_date,
            window_start=window_start,
            window_end=window_end,
            method=method,
            driver=driver,
            address=address,
            carrier=carrier or "",
            tracking_number=tracking_number or "",
            instructions=instructions or "",
        )
        try:
            delivery.full_clean()
        except ValidationError as error:
            raise ServiceError(
                "The delivery is not valid: "
                + " ".join(m for ms in error.message_dict.values() for m in ms),
                fields=error.message_dict,
            ) from error
        delivery.save()
        order.status = OrderStatus.SCHEDULED
        order.save(update_fields=["status"])
        # Sent after the commit, by the patient's channel (core.notifications).
        notify_patient(
            order.patient,
            DELIVERY_SCHEDULED,
            {"order": order, "delivery": delivery},
            related=delivery,
        )
    return delivery


def ensure_delivery_editable(delivery: Delivery) -> None:
    if delivery.status != DeliveryStatus.SCHEDULED:
        raise ServiceError(
            f"This delivery is {delivery.get_status_display().lower()}: it can no longer change.",
            code="delivery_locked",
        )


def cancel_delivery(delivery: Delivery) -> Delivery:
    """Call off a scheduled delivery; the order goes back to confirmed and keeps
    its reserved stock, ready for a new date."""
    with transaction.atomic():
        order = lock_order(delivery.order)
        delivery = lock_row(delivery)
        check_transition(
            DELIVERY_TRANSITIONS, delivery.status, DeliveryStatus.CANCELLED, what="This delivery"
        )
        check_order_transition(order, OrderStatus.CONFIRMED)
        delivery.status = DeliveryStatus.CANCELLED
        delivery.cancelled_at = timezone.now()
        delivery.save(update_fields=["status", "cancelled_at"])
        order.status = OrderStatus.CONFIRMED
        order.save(update_fields=["status"])
    return delivery


def _normalize_name(name: str | None) -> str:
    return " ".join(re.sub(r"[^\w\s'-]", " ", name or "").lower().split())


def is_staff_name(company_id: uuid.UUID, name: str | None, *also: User | None) -> bool:
    """Whether ``name`` is the name of one of the company's staff (or of ``also``)."""
    normalized = _normalize_name(name)
    if not normalized:
        return False
    for user in also:
        if user is not None and _normalize_name(user.get_full_name()) == normalized:
            return True
    staff: bool = (
        User.objects.filter(memberships__company_id=company_id, memberships__is_active=True)
        .annotate(full_name=Lower(Concat("first_name", Value(" "), "last_name")))
        .filter(full_name=normalized)
        .exists()
    )
    return staff


def _check_signer(
    delivery: Delivery,
    order: Order,
    signer_name: str | None,
    relationship: str | None,
    user: User | None,
) -> tuple[str, str, dict[str, list[str]]]:
    """The patient or a designee signs; supplier staff never do."""
    errors: dict[str, list[str]] = {}
    signer_name = (signer_name or "").strip()
    relationship = (relationship or "").strip()
    if relationship.lower() in STAFF_RELATIONSHIPS:
        errors["signer_relationship"] = [SUPPLIER_STAFF_MESSAGE]
    elif relationship and relationship not in SignerRelationship.values:
        errors["signer_relationship"] = [f'"{relationship}" is not a valid relationship.']
    needs_signature = delivery.method == DeliveryMethod.DRIVER
    if needs_signature and not signer_name:
        errors["signer_name"] = ["The printed name of the patient or designee is required."]
    if needs_signature and not relationship:
        errors.setdefault("signer_relationship", ["Say who signed: the patient or a designee."])
    if signer_name and not relationship:
        errors.setdefault("signer_relationship", ["Give the signer's relationship."])
    if (
        signer_name
        and relationship != SignerRelationship.PATIENT
        and is_staff_name(order.company_id, signer_name, delivery.driver, user)
    ):
        errors["signer_name"] = [
            f"{signer_name} is a member of our staff. {SUPPLIER_STAFF_MESSAGE}"
        ]
    return signer_name, relationship, errors


def _check_items(
    order: Order,
    lines: Sequence[OrderLine],
    items: Sequence[Mapping[str, Any]],
    reserved_serials: Mapping[uuid.UUID | None, list[str]],
) -> tuple[list[CheckedItem], dict[str, list[Any]]]:
    """Every line exactly once, with its full quantity and its reserved units."""
    by_id = {str(line.pk): line for line in lines}
    seen: set[str] = set()
    item_errors: list[dict[str, list[str]]] = []
    checked: list[CheckedItem] = []
    for item in items:
        errors: dict[str, list[str]] = {}
        line_ref = item.get("order_line")
        line_id = str(getattr(line_ref, "pk", line_ref))
        line = by_id.get(line_id)
        quantity = item.get("quantity")
        serials = [str(s).strip() for s in item.get("serial_numbers") or [] if str(s).strip()]
        if line is None:
            errors["order_line"] = ["This line is not on the order."]
        elif line_id in seen:
            errors["order_line"] = ["This line is listed twice."]
        else:
            seen.add(line_id)
            if quantity != line.reserved_quantity:
                errors["quantity"] = [
                    f"Deliver the whole line: {line.reserved_quantity} "
                    f"{line.equipment.name} (partial deliveries are not supported)."
                ]
            expected = reserved_serials.get(line.pk, [])
            if line.equipment.is_serialized:
                if sorted(serials) != sorted(expected):
                    errors["serial_numbers"] = [
                        "The serial numbers must be the units reserved for this line: "
                        f"{', '.join(sorted(expected)) or 'none'}."
                    ]
            elif serials:
                errors["serial_numbers"] = [f"{line.equipment.name} is not serialized."]
        item_errors.append(errors)
        if line is not None:
            checked.append((line, quantity, sorted(serials)))
    missing = [line for line in lines if str(line.pk) not in seen]
    fields: dict[str, list[Any]] = {}
    if any(item_errors):
        fields["items"] = item_errors
    if missing:
        names = ", ".join(
            f"{line.equipment.name} ({line.equipment.hcpcs_code})" for line in missing
        )
        fields.setdefault("non_field_errors", []).append(
            f"Every line of order {order.number} must be on the proof: missing {names}."
        )
    return checked, fields


def complete_delivery(
    delivery: Delivery,
    *,
    delivered_on: datetime.date,
    items: Sequence[Mapping[str, Any]] | None,
    signer_name: str | None = "",
    signer_relationship: str | None = "",
    signed_at: datetime.datetime | None = None,
    signature_image: str | None = "",
    tracking_number: str | None = "",
    user: User | None = None,
) -> Delivery:
    """Record the proof of delivery and hand the order over: the stock leaves the
    warehouse (on hand and reserved both go down), reserved units go with the patient,
    a rental starts for every rental line (from the delivery date, the date of
    service), and the order and delivery become delivered.

    ``items``: one ``{"order_line", "quantity", "serial_numbers"}`` per order line.
    """
    with transaction.atomic():
        order = lock_order(delivery.order)
        delivery = lock_row(delivery)
        check_transition(
            DELIVERY_TRANSITIONS, delivery.status, DeliveryStatus.DELIVERED, what="This delivery"
        )
        check_order_transition(order, OrderStatus.DELIVERED)
        errors: dict[str, list[Any]] = {}
        today = timezone.localdate()
        if delivered_on > today:
            errors["delivered_on"] = ["The date received cannot be in the future."]
        elif delivered_on < order.written_order_date:
            errors["delivered_on"] = ["The date received is before the written order date."]
        signer_name, relationship, signer_errors = _check_signer(
            delivery, order, signer_name, signer_relationship, user
        )
        errors.update(signer_errors)
        try:
            validate_signature_image(signature_image)
        except ValidationError as error:
            errors["signature_image"] = error.messages
        tracking_number = (tracking_number or "").strip() or delivery.tracking_number
        if delivery.method == DeliveryMethod.SHIPPED and not tracking_number:
            errors["tracking_number"] = ["A shipped delivery needs the carrier's tracking number."]
        lines = list(order.lines.select_related("equipment").order_by("created_at", "id"))
        assets = list(
            Asset.objects.select_for_update()
            .filter(reserved_for__in=[line.pk for line in lines])
            .order_by("serial_number")
        )
        reserved_serials: defaultdict[uuid.UUID | None, list[str]] = defaultdict(list)
        for asset in assets:
            reserved_serials[asset.reserved_for_id].append(asset.serial_number)
        checked, item_fields = _check_items(order, lines, items or [], reserved_serials)
        errors.update(item_fields)
        if not items:
            errors.setdefault("items", ["List the items handed over, one per order line."])
        if errors:
            raise ServiceError(
                f"The proof of delivery for order {order.number} is incomplete or invalid.",
                code="invalid_proof_of_delivery",
                fields=errors,
            )
        _hand_over(order, delivery, lines, assets, checked, delivered_on)
        delivery.status = DeliveryStatus.DELIVERED
        delivery.delivered_on = delivered_on
        delivery.patient_name = order.patient.full_name
        delivery.signer_name = signer_name
        delivery.signer_relationship = relationship
        delivery.signed_at = signed_at or (timezone.now() if signer_name else None)
        delivery.signature_image = signature_image or ""
        delivery.tracking_number = tracking_number
        delivery.completed_by = user
        delivery.save()
        order.status = OrderStatus.DELIVERED
        order.delivered_on = delivered_on
        order.save(update_fields=["status", "delivered_on"])
        emit(
            "delivery.completed",
            delivery,
            {"order_id": order.pk, "patient_id": order.patient_id, "method": delivery.method},
            company=order.company_id,
        )
    return delivery


def _hand_over(
    order: Order,
    delivery: Delivery,
    lines: Sequence[OrderLine],
    assets: Sequence[Asset],
    checked: Sequence[CheckedItem],
    delivered_on: datetime.date,
) -> None:
    demand: defaultdict[uuid.UUID, int] = defaultdict(int)
    for line in lines:
        demand[line.equipment_id] += line.reserved_quantity
    reason = f"Delivered to the patient of order {order.number}"
    for equipment_id in sorted(demand, key=str):
        quantity = demand[equipment_id]
        if not change_stock(
            equipment_id, order.location_id, on_hand=-quantity, reserved=-quantity, reason=reason
        ):
            raise ServiceError(
                f"The stock of order {order.number} is not reserved as recorded; "
                "ask an administrator to check the stock levels.",
                code="stock_mismatch",
            )
    units_by_line: defaultdict[uuid.UUID | None, list[Asset]] = defaultdict(list)
    for asset in assets:
        units_by_line[asset.reserved_for_id].append(asset)
        asset.status = AssetStatus.WITH_PATIENT
        asset.patient_id = order.patient_id
        asset.location = None
        asset.reserved_for = None
        asset.save(update_fields=["status", "patient", "location", "reserved_for"])
    for line, quantity, serials in checked:
        DeliveryItem.objects.create(
            company_id=order.company_id,
            delivery=delivery,
            order_line=line,
            description=_describe(line),
            quantity=quantity,
            serial_numbers=serials,
        )
    rentals: list[Rental] = []
    for line in lines:
        if line.kind in RENTED_LINE_KINDS:
            common = {
                "company_id": order.company_id,
                "patient_id": order.patient_id,
                "order": order,
                "order_line": line,
                "equipment": line.equipment,
                "start_date": delivered_on,
                "cap_months": line.equipment.rental_cap_months,
                "monthly_fee": line.unit_price,
            }
            units = units_by_line.get(line.pk)
            if units:
                rentals.extend(Rental(asset=unit, quantity=1, **common) for unit in units)
            else:
                rentals.append(Rental(quantity=line.quantity, **common))
        line.delivered_quantity = line.reserved_quantity
        line.reserved_quantity = 0
        line.save(update_fields=["delivered_quantity", "reserved_quantity"])
    for rental in rentals:
        rental.save()  # one by one: each start is in the audit history


def _describe(line: OrderLine) -> str:
    modifiers = "-".join(line.modifiers or [])
    text = line.equipment.item_description
    return f"{text} [{modifiers}]" if modifiers else text
