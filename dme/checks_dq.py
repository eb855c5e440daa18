"""Data-quality checks of the DME app: stock, units, reservations and proofs must
agree with each other, whatever wrote them (a script, a restore, a bug)."""

from django.db.models import Count, Exists, F, IntegerField, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from core.quality import Severity, register

from .choices import AssetStatus, DeliveryStatus, OrderStatus, RentalStatus
from .models import Asset, Delivery, Order, OrderLine, Rental, StockLevel

OPEN_RESERVATION_STATUSES = (OrderStatus.CONFIRMED, OrderStatus.SCHEDULED)


def _correlated(queryset, expression):
    """``expression`` aggregated over a queryset correlated with the outer row; 0 for none."""
    totals = queryset.order_by().annotate(_one=Value(1)).values("_one").annotate(total=expression)
    return Coalesce(
        Subquery(totals.values("total"), output_field=IntegerField()),
        Value(0),
    )


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
    return Order.objects.alias(has_short=Exists(short), holds=Exists(holding)).filter(
        Q(status__in=OPEN_RESERVATION_STATUSES, has_short=True)
        | (~Q(status__in=OPEN_RESERVATION_STATUSES) & Q(holds=True))
    )


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
    return Order.objects.filter(status=OrderStatus.DELIVERED).exclude(Exists(proof))


@register(
    "dme.active_rental_units_with_the_patient",
    severity=Severity.WARNING,
    model=Rental,
    description="Active rentals whose unit is not recorded as with the rental's patient.",
)
def active_rental_units_with_the_patient():
    return Rental.objects.filter(status=RentalStatus.ACTIVE, asset__isnull=False).exclude(
        asset__status=AssetStatus.WITH_PATIENT, asset__patient=F("patient")
    )
