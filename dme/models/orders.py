"""Orders for equipment and their lines."""

from typing import Any, ClassVar

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import F, Q
from django.utils import timezone

from core.models import CompanyNumberCounter, TenantModel, TenantQuerySet
from core.money import MONEY
from core.phi import EncryptedCharField, EncryptedTextField
from core.validators import normalize_hcpcs, validate_modifiers

from ..choices import (
    PURCHASABLE_BILLING_KINDS,
    PURCHASE_MODIFIERS,
    RENTAL_MODIFIER,
    RENTED_LINE_KINDS,
    BillingKind,
    LineKind,
    OrderStatus,
)

ORDER_NUMBER_PREFIX = "O-"
ORDER_NUMBER_DIGITS = 6


def format_order_number(value):
    """``123`` -> ``O-000123``."""
    return f"{ORDER_NUMBER_PREFIX}{value:0{ORDER_NUMBER_DIGITS}d}"


class OrderNumberCounter(CompanyNumberCounter):
    """The last order number given out in a company."""


class OrderQuerySet(TenantQuerySet):
    def open(self):
        return self.exclude(status__in=[OrderStatus.DELIVERED, OrderStatus.CANCELLED])


class Order(TenantModel):
    """A prescriber's written order for a patient's equipment, and its fulfilment.

    ``number`` (``O-000123``) is drawn per company on creation. The order is filled from
    ``location`` (the warehouse whose stock is reserved). Status moves only through
    ``dme.services``: received -> verified -> confirmed (stock reserved) -> scheduled ->
    delivered, or cancelled before delivery.
    """

    number = models.CharField(
        "order number", max_length=16, editable=False, help_text="Generated, as O-000123."
    )
    patient = models.ForeignKey(
        "clinical.Patient", on_delete=models.PROTECT, related_name="dme_orders"
    )
    prescriber = models.ForeignKey(
        "clinical.Provider", on_delete=models.PROTECT, related_name="dme_orders"
    )
    location = models.ForeignKey(
        "accounts.Location",
        on_delete=models.PROTECT,
        related_name="dme_orders",
        help_text="The warehouse that fills the order: its stock is reserved.",
    )
    written_order_date = models.DateField(
        "written order date", help_text="Date of the standard written order (SWO)."
    )
    prescriber_signed_on = models.DateField(
        "prescriber signed on",
        null=True,
        blank=True,
        help_text="When the practitioner signed the written order; needed to verify it.",
    )
    status = models.CharField(
        max_length=16, choices=OrderStatus.choices, default=OrderStatus.RECEIVED, editable=False
    )
    notes = EncryptedTextField(blank=True)
    verified_at = models.DateTimeField("verified at", null=True, blank=True, editable=False)
    confirmed_at = models.DateTimeField("confirmed at", null=True, blank=True, editable=False)
    delivered_on = models.DateField(
        "delivered on", null=True, blank=True, editable=False, help_text="Date of service."
    )
    cancelled_at = models.DateTimeField("cancelled at", null=True, blank=True, editable=False)
    cancellation_reason = EncryptedCharField(
        "cancellation reason", max_length=500, blank=True, editable=False
    )

    objects: ClassVar = OrderQuerySet.as_manager()
    location_field = "location"
    patient_field = "patient_id"
    access_logged = True

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "number"],
                name="order_company_number_uniq",
                violation_error_message="This company already has an order with this number.",
            ),
            models.CheckConstraint(
                condition=Q(prescriber_signed_on__isnull=True)
                | Q(prescriber_signed_on__gte=F("written_order_date")),
                name="order_signed_after_written",
                violation_error_message="The prescriber cannot sign before the order date.",
            ),
        ]
        indexes = [
            # The work queues: orders of a status, newest first (admin, ?status=).
            models.Index(fields=["company", "status", "created_at"], name="order_status_idx"),
            # A patient's orders (patient page, ?patient=, HME claims).
            models.Index(fields=["company", "patient"], name="order_patient_idx"),
            # A warehouse's queue (?location=&status=).
            models.Index(fields=["location", "status"], name="order_location_status_idx"),
            # The cursor of the API list (-created_at, -id).
            models.Index(fields=["company", "created_at", "id"], name="order_created_idx"),
            # ?written_order_date_after/_before.
            models.Index(fields=["company", "written_order_date"], name="order_written_date_idx"),
            # The data-quality window: rows changed since the last passed run
            # (core.quality.checks.changed_rows).
            models.Index(fields=["updated_at"], name="order_updated_idx"),
        ]

    def __str__(self):
        return self.number or "New order"

    @property
    def is_closed(self):
        """Delivered or cancelled: the written order is history (claims rely on it)."""
        return self.status in (OrderStatus.DELIVERED, OrderStatus.CANCELLED)

    @property
    def is_editable(self):
        """Lines and the fulfilling location change only before stock is reserved."""
        return self.status in (OrderStatus.RECEIVED, OrderStatus.VERIFIED)

    def clean(self):
        super().clean()
        if self.written_order_date and self.written_order_date > timezone.localdate():
            raise ValidationError({"written_order_date": "The order date is in the future."})
        if self.company_id:
            for field in ("patient", "prescriber", "location"):
                related = getattr(self, field, None) if getattr(self, f"{field}_id") else None
                if related is not None and related.company_id != self.company_id:
                    raise ValidationError({field: "This record is not in your company."})

    def save(self, *args: Any, **kwargs: Any) -> None:
        with transaction.atomic():
            if not self.number:
                self.number = format_order_number(OrderNumberCounter.next_number(self.company_id))
            super().save(*args, **kwargs)


def clean_modifiers(value):
    """Normalise (strip, upper case) and validate a list of HCPCS modifiers."""
    if isinstance(value, list | tuple):
        value = [normalize_hcpcs(m) if isinstance(m, str) else m for m in value]
    validate_modifiers(value)
    return list(value)


class OrderLine(TenantModel):
    """One item of an order: what, how many, bought or rented, modifiers and price.

    ``unit_price`` is the price of one unit (purchase) or its monthly fee (rental);
    left empty, it is taken from the catalogue. ``reserved_quantity`` and the
    ``reserved_assets`` are what ``confirm_order`` set aside for the line, so that
    cancelling or delivering releases or consumes exactly that; ``delivered_quantity``
    is what the proof of delivery recorded.
    """

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    equipment = models.ForeignKey(
        "dme.Equipment", on_delete=models.PROTECT, related_name="order_lines"
    )
    quantity = models.PositiveIntegerField(default=1)
    kind = models.CharField(
        "purchase or rental", max_length=16, choices=LineKind.choices, default=LineKind.PURCHASE
    )
    modifiers = models.JSONField(
        "HCPCS modifiers",
        default=list,
        blank=True,
        help_text='Up to four, as ["RR", "KX"]. RR on rentals, NU or UE on purchases.',
    )
    unit_price = models.DecimalField(
        "unit price",
        **MONEY,
        blank=True,
        help_text="Each (purchase) or each per month (rental); empty: the catalogue price.",
    )
    reserved_quantity = models.PositiveIntegerField("reserved", default=0, editable=False)
    delivered_quantity = models.PositiveIntegerField("delivered", default=0, editable=False)
    # Line kinds the legacy system billed (issue 20; rules in hme/services/line_kinds.py).
    rent_to_purchase_price = models.DecimalField(
        "rent-to-purchase price",
        **MONEY,
        null=True,
        blank=True,
        help_text="Rent to purchase: the price the paid rental months are credited "
        "toward (empty: the catalogue purchase price).",
    )
    recurrence_months = models.PositiveSmallIntegerField(
        "recurs every (months)",
        null=True,
        blank=True,
        help_text="Recurring sale: sold again every this many months (1-12).",
    )

    access_logged = True
    location_field = "order__location"
    patient_field = "order__patient_id"

    class Meta:
        ordering = ["order", "created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0),
                name="orderline_quantity_positive",
                violation_error_message="The quantity must be at least 1.",
            ),
            models.CheckConstraint(
                condition=Q(unit_price__gte=0),
                name="orderline_unit_price_not_negative",
                violation_error_message="The price cannot be negative.",
            ),
            models.CheckConstraint(
                condition=Q(reserved_quantity__lte=F("quantity")),
                name="orderline_reserved_within_quantity",
                violation_error_message="A line cannot reserve more than its quantity.",
            ),
            models.CheckConstraint(
                condition=Q(delivered_quantity__lte=F("quantity")),
                name="orderline_delivered_within_quantity",
                violation_error_message="A line cannot deliver more than its quantity.",
            ),
            models.CheckConstraint(
                condition=Q(recurrence_months__isnull=True)
                | Q(recurrence_months__gte=1, recurrence_months__lte=12),
                name="orderline_recurrence_1_to_12",
                violation_error_message="A recurring sale recurs every 1 to 12 months.",
            ),
            models.CheckConstraint(
                condition=Q(rent_to_purchase_price__isnull=True) | Q(rent_to_purchase_price__gt=0),
                name="orderline_rent_to_purchase_price_positive",
                violation_error_message="The rent-to-purchase price must be above 0.",
            ),
        ]
        indexes = [
            # What was ordered of an item (catalogue usage, ?equipment=).
            models.Index(fields=["company", "equipment"], name="orderline_equipment_idx"),
            # The data-quality window: rows changed since the last passed run
            # (core.quality.checks.changed_rows).
            models.Index(fields=["updated_at"], name="orderline_updated_idx"),
        ]

    def __str__(self):
        return f"{self.quantity} x {self.equipment.hcpcs_code} ({self.get_kind_display()})"

    @property
    def amount(self):
        """Quantity x unit price (for a rental: per month)."""
        return (self.unit_price or 0) * self.quantity

    @property
    def item_description(self):
        return self.equipment.item_description

    def catalogue_price(self):
        if self.kind in RENTED_LINE_KINDS:
            return self.equipment.monthly_rental_fee
        return self.equipment.purchase_price

    def clean_fields(self, exclude=None):
        exclude = set(exclude or ())
        if self.unit_price is None and self.equipment_id and "unit_price" not in exclude:
            self.unit_price = self.catalogue_price()
        errors = {}
        if "modifiers" not in exclude:
            try:
                self.modifiers = clean_modifiers(self.modifiers)
            except ValidationError as error:
                errors["modifiers"] = error.messages
            exclude.add("modifiers")
        try:
            super().clean_fields(exclude=exclude)
        except ValidationError as error:
            errors = {**error.message_dict, **errors}
        if errors:
            raise ValidationError(errors)

    def clean(self):
        super().clean()
        errors = {}
        if self.quantity is not None and self.quantity < 1:
            errors["quantity"] = "The quantity must be at least 1."
        if self.unit_price is not None and self.unit_price < 0:
            errors["unit_price"] = "The price cannot be negative."
        if not self.equipment_id:
            if errors:
                raise ValidationError(errors)
            return
        equipment = self.equipment
        kind_error = self._kind_error(equipment) or self._line_kind_error(equipment)
        if kind_error:
            errors[kind_error[0]] = kind_error[1]
        elif equipment.billing_kind != BillingKind.SUPPLY:
            modifier_error = self._modifier_error()
            if modifier_error:
                errors["modifiers"] = modifier_error
        if errors:
            raise ValidationError(errors)

    def _kind_error(self, equipment):
        """``(field, message)`` when the item cannot be rented or bought as asked."""
        if self.company_id and equipment.company_id != self.company_id:
            return "equipment", "This item is not in your catalogue."
        if self.kind == LineKind.RENTAL and not equipment.is_rentable:
            return "kind", f"{equipment.get_billing_kind_display()} items cannot be rented."
        if self.kind == LineKind.PURCHASE and equipment.billing_kind not in (
            PURCHASABLE_BILLING_KINDS
        ):
            return "kind", f"{equipment.get_billing_kind_display()} items cannot be bought."
        return None

    def _line_kind_error(self, equipment):
        """``(field, message)`` when the legacy kinds' fields do not fit (issue 20):
        one-time rentals and rent-to-purchase rent the item, recurring sales sell it;
        only a recurring sale recurs; only rent-to-purchase has a purchase price."""
        rented = self.kind in (LineKind.ONE_TIME_RENTAL, LineKind.RENT_TO_PURCHASE)
        if rented and not equipment.is_rentable:
            return "kind", f"{equipment.get_billing_kind_display()} items cannot be rented."
        if self.kind == LineKind.RECURRING_SALE:
            if equipment.billing_kind not in PURCHASABLE_BILLING_KINDS:
                return "kind", f"{equipment.get_billing_kind_display()} items cannot be bought."
            if not self.recurrence_months:
                return "recurrence_months", "A recurring sale says how often it recurs (1-12)."
        if self.recurrence_months is not None and self.kind != LineKind.RECURRING_SALE:
            return "recurrence_months", "Only a recurring sale recurs."
        if self.recurrence_months is not None and not 1 <= self.recurrence_months <= 12:
            return "recurrence_months", "Every 1 to 12 months."
        if self.kind == LineKind.RENT_TO_PURCHASE:
            price = self.rent_to_purchase_price or equipment.purchase_price
            if not price or price <= 0:
                return "rent_to_purchase_price", "Give the price the rent is credited toward."
            if self.unit_price is not None and self.unit_price <= 0:
                return "unit_price", "Rent to purchase needs a monthly rent above 0."
        elif self.rent_to_purchase_price is not None:
            return "rent_to_purchase_price", "Only a rent-to-purchase line has this price."
        return None

    def _modifier_error(self):
        """Why the pricing modifiers do not fit the line's kind (RR for a rental, NU or
        UE for a purchase, never both), or None."""
        modifiers = self.modifiers if isinstance(self.modifiers, list) else []
        if self.kind in RENTED_LINE_KINDS:
            if RENTAL_MODIFIER not in modifiers:
                return "A rental line needs the RR modifier."
            if any(m in PURCHASE_MODIFIERS for m in modifiers):
                return "A rental line cannot carry NU or UE."
            return None
        if not any(m in PURCHASE_MODIFIERS for m in modifiers):
            return "A purchase line needs NU (new) or UE (used)."
        if RENTAL_MODIFIER in modifiers:
            return "A purchase line cannot carry RR."
        return None

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.unit_price is None and self.equipment_id:
            self.unit_price = self.catalogue_price()
        if (
            self.kind == LineKind.RENT_TO_PURCHASE
            and self.rent_to_purchase_price is None
            and self.equipment_id
        ):
            self.rent_to_purchase_price = self.equipment.purchase_price or None
        if self.company_id is None and self.order_id:
            self.company_id = self.order.company_id
        super().save(*args, **kwargs)
