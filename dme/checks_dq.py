"""Data-quality checks of the DME app: stock, units, reservations and proofs must
agree with each other, whatever wrote them (a script, a restore, a bug)."""

from django.db.models import Count, Exists, F, IntegerField, Max, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from core.quality import Severity, register
from core.quality.checks import (
    DAILY_FRESHNESS,
    changed_rows,
    json_contains,
    json_text,
    modifier_list_mismatch,
    own_changes,
    pattern_mismatch,
    register_tenant_checks,
    stale,
    written_since,
)

from .choices import (
    PURCHASE_MODIFIERS,
    RENTAL_MODIFIER,
    AssetStatus,
    BillingKind,
    DeliveryStatus,
    LineKind,
    OrderStatus,
    RentalStatus,
)
from .models import (
    Asset,
    Delivery,
    DeliveryItem,
    Equipment,
    Order,
    OrderLine,
    Rental,
    RentalMonth,
    StockLevel,
)

OPEN_RESERVATION_STATUSES = (OrderStatus.CONFIRMED, OrderStatus.SCHEDULED)
# Orders past verification: verify_order required the prescriber's signature.
VERIFIED_STATUSES = (
    OrderStatus.VERIFIED,
    OrderStatus.CONFIRMED,
    OrderStatus.SCHEDULED,
    OrderStatus.DELIVERED,
)

# Referential integrity: every foreign key between the app's tenant models.
TENANT_CHECKS = register_tenant_checks("dme")


def _correlated(queryset, expression):
    """``expression`` aggregated over a queryset correlated with the outer row; 0 for none."""
    totals = queryset.order_by().annotate(_one=Value(1)).values("_one").annotate(total=expression)
    return Coalesce(
        Subquery(totals.values("total"), output_field=IntegerField()),
        Value(0),
    )


@register(
    "dme.rental_months_without_gap",
    severity=Severity.ERROR,
    model=Rental,
    description="Rentals whose recorded months skip one (months 1, 2, 4...): a month "
    "furnished and never billed, and the month count and modifiers after it are wrong.",
)
def rental_months_without_gap():
    months = RentalMonth.objects.filter(rental=OuterRef("pk"))
    failing = (
        Rental.objects.alias(
            recorded=_correlated(months, Count("id")),
            last=_correlated(months, Max("sequence")),
        )
        .filter(recorded__gt=0)
        .exclude(recorded=F("last"))
    )
    # Incremental: the rentals changed, or with a month recorded or changed, since the
    # last passed run.
    window = written_since(Rental, children=[(RentalMonth, "rental_id")])
    return changed_rows(failing, window, what="rentals")


@register(
    "dme.serialized_stock_matches_units",
    severity=Severity.ERROR,
    model=StockLevel,
    description="Stock levels of serialized items whose on-hand or reserved quantity is not "
    "the number of units in stock or reserved at that location.",
)
def serialized_stock_matches_units():
    units = Asset.objects.filter(equipment=OuterRef("equipment"), location=OuterRef("location"))
    counted = Q(status__in=[AssetStatus.IN_STOCK, AssetStatus.RESERVED])
    return (
        StockLevel.objects.filter(equipment__is_serialized=True)
        .annotate(
            units_on_hand=_correlated(units.filter(counted), Count("id")),
            units_reserved=_correlated(units.filter(status=AssetStatus.RESERVED), Count("id")),
        )
        .filter(~Q(on_hand=F("units_on_hand")) | ~Q(reserved=F("units_reserved")))
    )


@register(
    "dme.reserved_stock_matches_orders",
    severity=Severity.ERROR,
    model=StockLevel,
    description="Stock levels whose reserved quantity is not what the confirmed and "
    "scheduled orders of that location reserved for the item.",
)
def reserved_stock_matches_orders():
    lines = OrderLine.objects.filter(
        equipment=OuterRef("equipment"),
        order__location=OuterRef("location"),
        order__status__in=OPEN_RESERVATION_STATUSES,
    )
    return StockLevel.objects.annotate(
        ordered=_correlated(lines, Sum("reserved_quantity"))
    ).exclude(reserved=F("ordered"))


@register(
    "dme.open_orders_fully_reserved",
    severity=Severity.ERROR,
    model=Order,
    description="Confirmed or scheduled orders with a line not fully reserved, or received, "
    "verified, delivered or cancelled orders still holding a reservation.",
)
def open_orders_fully_reserved():
    short = OrderLine.objects.filter(order=OuterRef("pk")).exclude(reserved_quantity=F("quantity"))
    holding = OrderLine.objects.filter(order=OuterRef("pk"), reserved_quantity__gt=0)
    failing = Order.objects.alias(has_short=Exists(short), holds=Exists(holding)).filter(
        Q(status__in=OPEN_RESERVATION_STATUSES, has_short=True)
        | (~Q(status__in=OPEN_RESERVATION_STATUSES) & Q(holds=True))
    )
    window = written_since(Order, children=[(OrderLine, "order_id")])
    return changed_rows(failing, window, what="orders")


@register(
    "dme.delivered_orders_have_proof",
    severity=Severity.ERROR,
    model=Order,
    description="Delivered orders without a completed delivery listing the items handed "
    "over (no proof of delivery, so no claim can be defended).",
)
def delivered_orders_have_proof():
    proof = Delivery.objects.filter(
        order=OuterRef("pk"), status=DeliveryStatus.DELIVERED, items__isnull=False
    )
    failing = Order.objects.filter(status=OrderStatus.DELIVERED).exclude(Exists(proof))
    children = [(Delivery, "order_id"), (DeliveryItem, "delivery__order_id")]
    return changed_rows(failing, written_since(Order, children=children), what="orders")


@register(
    "dme.active_rental_units_with_the_patient",
    severity=Severity.WARNING,
    model=Rental,
    description="Active rentals whose unit is not recorded as with the rental's patient.",
)
def active_rental_units_with_the_patient():
    failing = Rental.objects.filter(status=RentalStatus.ACTIVE, asset__isnull=False).exclude(
        asset__status=AssetStatus.WITH_PATIENT, asset__patient=F("patient")
    )
    return changed_rows(failing, written_since(Rental, "asset"), what="rentals")


# Records that lost their context -------------------------------------------------------


@register(
    "dme.rental_matches_its_order",
    severity=Severity.ERROR,
    model=Rental,
    description="Rentals whose order line is not on the rental's order, whose patient is "
    "not the order's patient, or whose item is not the order line's item: the monthly "
    "claims would bill the wrong patient or item.",
)
def rental_matches_its_order():
    failing = Rental._base_manager.filter(
        ~Q(order_line__order=F("order"))
        | ~Q(patient=F("order__patient"))
        | ~Q(equipment=F("order_line__equipment"))
    )
    window = written_since(Rental, "order", "order_line")
    return changed_rows(failing, window, what="rentals")


@register(
    "dme.delivery_item_line_on_the_order",
    severity=Severity.ERROR,
    model=DeliveryItem,
    description="Proof-of-delivery items naming an order line of another order than the "
    "delivery's: the proof would defend the wrong claim.",
)
def delivery_item_line_on_the_order():
    failing = DeliveryItem._base_manager.exclude(order_line__order=F("delivery__order"))
    window = written_since(DeliveryItem, "order_line", "delivery")
    return changed_rows(failing, window, what="delivery items")


@register(
    "dme.asset_reserved_for_its_item",
    severity=Severity.ERROR,
    model=Asset,
    description="Units reserved for an order line of another catalogue item.",
)
def asset_reserved_for_its_item():
    return Asset._base_manager.filter(reserved_for__isnull=False).exclude(
        reserved_for__equipment=F("equipment")
    )


# Formats -----------------------------------------------------------------------------


@register(
    "dme.equipment_hcpcs_format",
    severity=Severity.ERROR,
    model=Equipment,
    description="Catalogue items whose HCPCS code is not one upper-case letter and four "
    "digits: every order and claim line of the item inherits it.",
)
def equipment_hcpcs_format():
    return pattern_mismatch(Equipment, "hcpcs_code", r"^[A-Z][0-9]{4}$", blank_ok=False)


@register(
    "dme.orderline_modifiers_format",
    severity=Severity.ERROR,
    model=OrderLine,
    description="Order lines whose modifiers are not at most four two-character codes, "
    "repeat one, or put KX with GA, GY or GZ.",
)
def orderline_modifiers_format():
    return changed_rows(
        modifier_list_mismatch(OrderLine), own_changes(OrderLine), what="order lines"
    )


@register(
    "dme.orderline_pricing_modifier",
    severity=Severity.ERROR,
    model=OrderLine,
    description="Rental lines without RR (or with NU/UE) and purchase lines without NU or "
    "UE (or with RR), supplies excepted: the payer rejects such a line.",
)
def orderline_pricing_modifier():
    alias = "_modifiers_text"
    rental = json_contains(alias, RENTAL_MODIFIER)
    purchase = json_contains(alias, PURCHASE_MODIFIERS[0]) | json_contains(
        alias, PURCHASE_MODIFIERS[1]
    )
    failing = (
        OrderLine._base_manager.exclude(equipment__billing_kind=BillingKind.SUPPLY)
        .alias(**{alias: json_text("modifiers")})
        .filter(
            Q(kind=LineKind.RENTAL) & (~rental | purchase)
            | Q(kind=LineKind.PURCHASE) & (~purchase | rental)
        )
    )
    # The item's billing kind decides too: an item changed puts its lines in the window.
    return changed_rows(failing, written_since(OrderLine, "equipment"), what="order lines")


# Invariants and business rules ---------------------------------------------------------


@register(
    "dme.stock_reserved_within_on_hand",
    severity=Severity.ERROR,
    model=StockLevel,
    description="Stock levels with negative quantities or more reserved than on hand "
    "(database constraints too: this catches them being dropped or bypassed).",
)
def stock_reserved_within_on_hand():
    return StockLevel._base_manager.filter(
        Q(on_hand__lt=0) | Q(reserved__lt=0) | Q(reserved__gt=F("on_hand"))
    )


@register(
    "dme.orders_written_order_signed",
    severity=Severity.ERROR,
    model=Order,
    description="Orders verified or further along without the prescriber's signature "
    "date: the standard written order must be signed before the claim.",
)
def orders_written_order_signed():
    return Order._base_manager.filter(
        status__in=VERIFIED_STATUSES, prescriber_signed_on__isnull=True
    )


@register(
    "dme.rentals_active_past_cap",
    severity=Severity.ERROR,
    model=Rental,
    description="Active rentals whose billed months reached their cap (13 capped, 36 "
    "oxygen): billing must stop and title pass, or the payer is overbilled.",
)
def rentals_active_past_cap():
    return Rental._base_manager.filter(
        status=RentalStatus.ACTIVE,
        cap_months__isnull=False,
        months_billed__gte=F("cap_months"),
    )


@register(
    "dme.orders_freshness",
    severity=Severity.WARNING,
    model=Order,
    description="No order was received or moved for more than 96 hours (skipped while "
    "there are none).",
)
def orders_freshness():
    return stale(Order, DAILY_FRESHNESS)
