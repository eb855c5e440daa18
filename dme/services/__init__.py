"""Every operation that changes DME state: one function each, atomic, raising
``core.exceptions`` errors whose message says what to do.

Admin actions, API views, tasks and the demo data call these; none re-implements
them. Status changes follow the tables in ``dme.transitions``; stock quantities move
only through ``dme.services.stock.change_stock``.
"""

# Purchasing, receiving, transfers, unit life, counts (issue 20).
from .assets import (
    change_unit_life,
    log_maintenance,
    lookup_serial,
    recalled_units,
    recalls_for,
    register_asset,
    retire_asset,
    return_to_stock,
    send_to_maintenance,
)
from .counts import (
    cancel_count_sheet,
    open_count_sheet,
    post_count_sheet,
    record_count,
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
from .purchasing import (
    ReceiveItem,
    cancel_purchase_order,
    create_purchase_order,
    receive_purchase_order,
    save_po_line,
    send_purchase_order,
    suggest_purchase_orders,
)
from .rentals import (
    cap_rental,
    record_billed_month,
    record_new_medical_need,
    record_rental_month,
    return_rental,
)
from .stock import add_stock, adjust_stock, change_stock
from .transfers import (
    cancel_transfer,
    create_transfer,
    receive_transfer,
    ship_transfer,
    transfer_now,
)

__all__ = [
    # issue 20
    "ReceiveItem",
    "add_stock",
    "adjust_stock",
    "cancel_count_sheet",
    "cancel_delivery",
    "cancel_order",
    "cancel_purchase_order",
    "cancel_transfer",
    "cap_rental",
    "change_stock",
    "change_unit_life",
    "complete_delivery",
    "confirm_order",
    "create_order",
    "create_purchase_order",
    "create_transfer",
    "delete_line",
    "ensure_delivery_editable",
    "ensure_lines_editable",
    "log_maintenance",
    "lookup_serial",
    "open_count_sheet",
    "order_problems",
    "patient_address",
    "post_count_sheet",
    "recalled_units",
    "recalls_for",
    "receive_purchase_order",
    "receive_transfer",
    "record_billed_month",
    "record_count",
    "record_new_medical_need",
    "record_rental_month",
    "register_asset",
    "retire_asset",
    "return_rental",
    "return_to_stock",
    "save_line",
    "save_po_line",
    "schedule_delivery",
    "send_purchase_order",
    "send_to_maintenance",
    "ship_transfer",
    "suggest_purchase_orders",
    "transfer_now",
    "verify_order",
]
