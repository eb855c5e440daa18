"""Buying stock: vendors, the items they supply, purchase orders and their receipts.

A purchase order moves draft -> sent -> partly received -> received, or cancelled
(``dme.transitions.PURCHASE_ORDER_TRANSITIONS``), only through
``dme.services.purchasing``. What a line still waits for (its backorder) is its
quantity minus what was received.
"""

from typing import Any, ClassVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower

from core.models import CompanyNumberCounter, TenantModel, TenantQuerySet
from core.money import MONEY

from ..choices import PurchaseOrderStatus

PURCHASE_ORDER_NUMBER_PREFIX = "PO-"
RECEIPT_NUMBER_PREFIX = "RC-"
NUMBER_DIGITS = 6


class Vendor(TenantModel):
    """A company we buy equipment and supplies from (a manufacturer or distributor)."""

    name = models.CharField(max_length=200)
    account_number = models.CharField(
        "account number", max_length=64, blank=True, help_text="Our account with the vendor."
    )
    contact_name = models.CharField("contact", max_length=200, blank=True)
    contact_email = models.EmailField("contact email", blank=True)
    contact_phone = models.CharField("contact phone", max_length=30, blank=True)
    terms = models.CharField(
        "payment terms", max_length=64, blank=True, help_text="As agreed, e.g. Net 30."
    )
    lead_time_days = models.PositiveSmallIntegerField(
        "lead time (days)",
        default=7,
        help_text="Days from sending a purchase order to receiving it: sets expected dates.",
    )
    is_active = models.BooleanField("active", default=True)

    objects: ClassVar = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                "company",
                Lower("name"),
                name="vendor_company_name_ci_uniq",
                violation_error_message="This company already has a vendor with this name.",
            ),
        ]

    def __str__(self):
        return self.name


class VendorItem(TenantModel):
    """What a vendor supplies of one catalogue item, at what cost; one vendor per item
    is the preferred one (the suggestion run orders from it)."""

    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="items")
    equipment = models.ForeignKey(
        "dme.Equipment", on_delete=models.CASCADE, related_name="vendor_items"
    )
    vendor_item_number = models.CharField("vendor's item number", max_length=64, blank=True)
    unit_cost = models.DecimalField("unit cost", **MONEY, default=0)
    is_preferred = models.BooleanField("preferred vendor", default=False)

    class Meta:
        ordering = ["equipment__name", "vendor__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["vendor", "equipment"],
                name="vendoritem_vendor_equipment_uniq",
                violation_error_message="This vendor already supplies this item.",
            ),
            models.UniqueConstraint(
                fields=["equipment"],
                condition=Q(is_preferred=True),
                name="vendoritem_one_preferred_uniq",
                violation_error_message="This item already has a preferred vendor.",
            ),
            models.CheckConstraint(
                condition=Q(unit_cost__gte=0),
                name="vendoritem_unit_cost_not_negative",
                violation_error_message="The unit cost cannot be negative.",
            ),
        ]

    def __str__(self):
        return f"{self.equipment} from {self.vendor}"

    def clean(self):
        super().clean()
        if self.company_id:
            if self.vendor_id and self.vendor.company_id != self.company_id:
                raise ValidationError({"vendor": "This vendor is not in your company."})
            if self.equipment_id and self.equipment.company_id != self.company_id:
                raise ValidationError({"equipment": "This item is not in your catalogue."})


class PurchaseOrderNumberCounter(CompanyNumberCounter):
    """The last purchase order number given out in a company."""


class ReceiptNumberCounter(CompanyNumberCounter):
    """The last receipt number given out in a company."""


class PurchaseOrderQuerySet(TenantQuerySet):
    def open(self):
        return self.exclude(
            status__in=[PurchaseOrderStatus.RECEIVED, PurchaseOrderStatus.CANCELLED]
        )


class PurchaseOrder(TenantModel):
    """What we order from one vendor for one location (``PO-000012``)."""

    number = models.CharField(max_length=16, editable=False)
    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="purchase_orders")
    location = models.ForeignKey(
        "accounts.Location",
        on_delete=models.PROTECT,
        related_name="dme_purchase_orders",
        help_text="Where the goods are delivered and counted.",
    )
    status = models.CharField(
        max_length=16,
        choices=PurchaseOrderStatus.choices,
        default=PurchaseOrderStatus.DRAFT,
        editable=False,
    )
    sent_at = models.DateTimeField("sent", null=True, blank=True, editable=False)
    notes = models.TextField(blank=True, help_text="For the vendor; no patient information.")
    suggested = models.BooleanField(
        default=False, editable=False, help_text="Proposed by the reorder-point suggestion run."
    )

    objects: ClassVar = PurchaseOrderQuerySet.as_manager()
    location_field = "location"

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "number"],
                name="purchaseorder_company_number_uniq",
                violation_error_message="This purchase order number is taken.",
            ),
        ]
        indexes = [
            # Open purchase orders by status (admin filter, ?status=, the suggestion run).
            models.Index(fields=["company", "status"], name="purchaseorder_status_idx"),
        ]

    def __str__(self):
        return self.number or "New purchase order"

    @property
    def is_editable(self):
        """Lines change only while the order is a draft."""
        return self.status == PurchaseOrderStatus.DRAFT

    @property
    def is_receivable(self):
        return self.status in (PurchaseOrderStatus.SENT, PurchaseOrderStatus.PARTLY_RECEIVED)

    def clean(self):
        super().clean()
        if self.company_id:
            if self.vendor_id and self.vendor.company_id != self.company_id:
                raise ValidationError({"vendor": "This vendor is not in your company."})
            if self.location_id and self.location.company_id != self.company_id:
                raise ValidationError({"location": "This location is not in your company."})


class PurchaseOrderLine(TenantModel):
    """One item of a purchase order: how many, at what cost, expected when, and how
    many came in so far (the rest is backordered)."""

    purchase_order = models.ForeignKey(
        PurchaseOrder, on_delete=models.CASCADE, related_name="lines"
    )
    equipment = models.ForeignKey(
        "dme.Equipment", on_delete=models.PROTECT, related_name="purchase_order_lines"
    )
    quantity = models.PositiveIntegerField(default=1)
    unit_cost = models.DecimalField("unit cost", **MONEY, default=0)
    expected_date = models.DateField("expected", null=True, blank=True)
    received_quantity = models.PositiveIntegerField("received", default=0, editable=False)

    class Meta:
        ordering = ["purchase_order", "created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0),
                name="purchaseorderline_quantity_positive",
                violation_error_message="The quantity must be at least 1.",
            ),
            models.CheckConstraint(
                condition=Q(unit_cost__gte=0),
                name="purchaseorderline_unit_cost_not_negative",
                violation_error_message="The unit cost cannot be negative.",
            ),
            models.CheckConstraint(
                condition=Q(received_quantity__lte=F("quantity")),
                name="purchaseorderline_received_within_quantity",
                violation_error_message="A line cannot receive more than it ordered.",
            ),
        ]

    def __str__(self):
        return f"{self.quantity} x {self.equipment}"

    @property
    def backordered(self):
        return self.quantity - self.received_quantity

    @property
    def amount(self):
        return self.quantity * self.unit_cost

    def clean(self):
        super().clean()
        if self.quantity is not None and self.quantity < 1:
            raise ValidationError({"quantity": "The quantity must be at least 1."})
        if self.unit_cost is not None and self.unit_cost < 0:
            raise ValidationError({"unit_cost": "The unit cost cannot be negative."})
        if self.company_id and self.equipment_id and self.equipment.company_id != self.company_id:
            raise ValidationError({"equipment": "This item is not in your catalogue."})

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.company_id is None and self.purchase_order_id:
            self.company_id = self.purchase_order.company_id
        super().save(*args, **kwargs)


class Receipt(TenantModel):
    """One delivery from a vendor against a purchase order (``RC-000003``)."""

    number = models.CharField(max_length=16, editable=False)
    purchase_order = models.ForeignKey(
        PurchaseOrder, on_delete=models.PROTECT, related_name="receipts"
    )
    received_at = models.DateTimeField("received")
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    packing_slip = models.CharField("packing slip", max_length=64, blank=True)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "number"],
                name="receipt_company_number_uniq",
                violation_error_message="This receipt number is taken.",
            ),
        ]

    def __str__(self):
        return self.number


class ReceiptLine(TenantModel):
    """What one receipt brought in for one purchase order line, at what cost, with the
    lot (lot-tracked supplies) or the units' serial numbers (serialized items)."""

    receipt = models.ForeignKey(Receipt, on_delete=models.CASCADE, related_name="lines")
    purchase_order_line = models.ForeignKey(
        PurchaseOrderLine, on_delete=models.PROTECT, related_name="receipt_lines"
    )
    quantity = models.PositiveIntegerField()
    unit_cost = models.DecimalField("unit cost", **MONEY)
    lot = models.ForeignKey(
        "dme.Lot", on_delete=models.PROTECT, null=True, blank=True, related_name="receipt_lines"
    )
    serial_numbers = models.JSONField("serial numbers", default=list, blank=True)

    class Meta:
        ordering = ["receipt", "created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0),
                name="receiptline_quantity_positive",
                violation_error_message="A receipt line receives at least 1.",
            ),
        ]

    def __str__(self):
        return f"{self.quantity} x {self.purchase_order_line.equipment}"
