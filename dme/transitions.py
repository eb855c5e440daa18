"""The allowed status changes of orders, deliveries, rentals and assets: one table
each, enforced by ``dme.services`` (an illegal change raises ``InvalidTransition``)."""

from typing import TYPE_CHECKING

from core.transitions import check_transition

from .choices import AssetStatus, DeliveryStatus, OrderStatus, RentalStatus

if TYPE_CHECKING:
    from .models import Order

ORDER_TRANSITIONS = {
    OrderStatus.RECEIVED: {OrderStatus.VERIFIED, OrderStatus.CANCELLED},
    # Back to received when a line changes: the change needs verifying again.
    OrderStatus.VERIFIED: {OrderStatus.RECEIVED, OrderStatus.CONFIRMED, OrderStatus.CANCELLED},
    OrderStatus.CONFIRMED: {OrderStatus.SCHEDULED, OrderStatus.CANCELLED},
    # Back to confirmed when the delivery is cancelled: the stock stays reserved.
    OrderStatus.SCHEDULED: {OrderStatus.DELIVERED, OrderStatus.CONFIRMED, OrderStatus.CANCELLED},
    # Final: a delivered order is history (returns are rentals' pickups).
    OrderStatus.DELIVERED: set(),
    OrderStatus.CANCELLED: set(),
}

DELIVERY_TRANSITIONS = {
    DeliveryStatus.SCHEDULED: {DeliveryStatus.DELIVERED, DeliveryStatus.CANCELLED},
    DeliveryStatus.DELIVERED: set(),
    DeliveryStatus.CANCELLED: set(),
}

RENTAL_TRANSITIONS = {
    RentalStatus.ACTIVE: {RentalStatus.CAPPED, RentalStatus.RETURNED},
    # Only oxygen equipment is picked up after capping: the supplier still owns it.
    # Capped rentals' title passed to the patient (services check the billing kind).
    # Oxygen only: after the 60-month reasonable useful lifetime a new 36-month
    # rental period starts (42 CFR 414.226(g)), and billing resumes.
    RentalStatus.CAPPED: {RentalStatus.RETURNED, RentalStatus.ACTIVE},
    RentalStatus.RETURNED: set(),
}

ASSET_TRANSITIONS = {
    AssetStatus.IN_STOCK: {AssetStatus.RESERVED, AssetStatus.IN_MAINTENANCE, AssetStatus.RETIRED},
    AssetStatus.RESERVED: {AssetStatus.IN_STOCK, AssetStatus.WITH_PATIENT},
    # Title passes to the patient at the end of a capped rental (42 CFR 414.229(f)(2)).
    AssetStatus.WITH_PATIENT: {AssetStatus.IN_MAINTENANCE, AssetStatus.PATIENT_OWNED},
    AssetStatus.IN_MAINTENANCE: {AssetStatus.IN_STOCK, AssetStatus.RETIRED},
    AssetStatus.RETIRED: set(),
    AssetStatus.PATIENT_OWNED: set(),
}

# What the refusal says, by target status: "Cannot <verb> order O-000012: it is ...".
ORDER_VERBS = {
    OrderStatus.VERIFIED: "verify",
    OrderStatus.CONFIRMED: "confirm",
    OrderStatus.SCHEDULED: "schedule a delivery for",
    OrderStatus.DELIVERED: "deliver",
    OrderStatus.CANCELLED: "cancel",
}
# A hint per (current status, target) for the common mistakes.
ORDER_HINTS = {
    (OrderStatus.RECEIVED, OrderStatus.CONFIRMED): "verify it first.",
    (OrderStatus.VERIFIED, OrderStatus.SCHEDULED): "confirm it first (to reserve the stock).",
    (OrderStatus.CONFIRMED, OrderStatus.DELIVERED): "schedule its delivery first.",
    (OrderStatus.SCHEDULED, OrderStatus.SCHEDULED): (
        "it already has a delivery; change that delivery or cancel it first."
    ),
}


def check_order_transition(order: "Order", target: OrderStatus) -> None:
    def refusal(current, target):
        verb = ORDER_VERBS.get(target, f"move to {target}")
        hint = ORDER_HINTS.get((current, target))
        if hint is None:
            hint = (
                "it is already done."
                if current == target
                else "nothing more can change."
                if not ORDER_TRANSITIONS[current]
                else "that step does not follow."
            )
        return f"Cannot {verb} order {order.number}: it is {current.label.lower()}; {hint}"

    check_transition(ORDER_TRANSITIONS, order.status, target, message=refusal)
