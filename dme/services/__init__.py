"""Every operation that changes DME state: one function each, atomic, raising
``core.exceptions`` errors whose message says what to do.

Admin actions, API views, tasks and the demo data call these; none re-implements
them. Status changes follow the tables in ``dme.transitions``; stock quantities move
only through ``dme.services.stock.change_stock``.
"""

from .assets import (
    log_maintenance,
    register_asset,
    retire_asset,
    return_to_stock,
    send_to_maintenance,
)
from .deliveries import (
    cancel_delivery,
    complete_delivery,
    ensure_delivery_editable,
    patient_address,
    schedule_delivery,
)
from .orders import (
    cancel_order,
    confirm_order,
    create_order,
    delete_line,
    ensure_lines_editable,
    order_problems,
    save_line,
    verify_order,
)
from .rentals import (
    cap_rental,
    record_billed_month,
    record_new_medical_need,
    record_rental_month,
    return_rental,
)
from .stock import add_stock, adjust_stock, change_stock

__all__ = [
    "add_stock",
    "adjust_stock",
    "cancel_delivery",
    "cancel_order",
    "cap_rental",
    "change_stock",
    "complete_delivery",
    "confirm_order",
    "create_order",
    "delete_line",
    "ensure_delivery_editable",
    "ensure_lines_editable",
    "log_maintenance",
    "order_problems",
    "patient_address",
    "record_billed_month",
    "record_new_medical_need",
    "record_rental_month",
    "register_asset",
    "retire_asset",
    "return_rental",
    "return_to_stock",
    "save_line",
    "schedule_delivery",
    "send_to_maintenance",
    "verify_order",
]
