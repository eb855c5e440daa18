"""Stock per location, serialized units (assets) and their maintenance log.

Quantities change only in ``dme.services``, with conditional ``F()`` updates or under
``select_for_update``: a read-modify-write lost 81% of updates under 8 threads
(docs/architecture.md). The check constraints below are the last line of defence: the
database refuses negative stock or more reserved than on hand, whatever the code does.
"""

from typing import ClassVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q

from core.models import TenantModel, TenantQuerySet
from core.money import MONEY

from ..choices import AssetStatus, MaintenanceKind


class StockLevelQuerySet(TenantQuerySet):
    def low(self):
        """Rows whose free quantity (on hand - reserved) is under the reorder point."""
        return self.filter(reorder_point__gt=F("on_hand") - F("reserved"))

    def not_low(self):
        return self.filter(reorder_point__lte=F("on_hand") - F("reserved"))


class StockLevel(TenantModel):
    """How many units of one catalogue item a location holds.

    ``on_hand`` counts the units at the location that can be issued (reserved ones
    included; units in maintenance are not counted until they are back in stock);
    ``reserved`` is the part promised to confirmed orders. Free stock is the
    difference. For serialized items the asset rows in stock or reserved at the
    location make up ``on_hand``.
    """

    equipment = models.ForeignKey(
        "dme.Equipment", on_delete=models.PROTECT, related_name="stock_levels"
    )
    location = models.ForeignKey(
        "accounts.Location", on_delete=models.PROTECT, related_name="dme_stock_levels"
    )
    on_hand = models.IntegerField("on hand", default=0)
    reserved = models.IntegerField(default=0, editable=False)
    reorder_point = models.IntegerField(
        "reorder point", default=0, help_text="Reorder when free stock falls below this."
    )
    # PAR levels and costing (issue 20): how many a suggested purchase order asks for,
    # and the moving average cost of one unit here (dme.services.stock.receive_stock).
    reorder_quantity = models.PositiveIntegerField(
        "reorder quantity",
        default=0,
        help_text="How many to order when free stock is at or below the reorder point "
        "(0: enough to reach twice the reorder point).",
    )
    average_cost = models.DecimalField(
        "average cost",
        **MONEY,
        default=0,
        editable=False,
        help_text="Moving average cost of one unit here, from receipts and transfers.",
    )

    objects: ClassVar = StockLevelQuerySet.as_manager()
    location_field = "location"

    class Meta:
        ordering = ["equipment__name", "location__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["equipment", "location"],
                name="stocklevel_equipment_location_uniq",
                violation_error_message="This location already has a stock level for this item.",
            ),
            models.CheckConstraint(
                condition=Q(on_hand__gte=0),
                name="stocklevel_on_hand_not_negative",
                violation_error_message="Stock on hand cannot be negative.",
            ),
            models.CheckConstraint(
                condition=Q(reserved__gte=0),
                name="stocklevel_reserved_not_negative",
                violation_error_message="Reserved stock cannot be negative.",
            ),
            models.CheckConstraint(
                condition=Q(reserved__lte=F("on_hand")),
                name="stocklevel_reserved_within_on_hand",
                violation_error_message="More stock cannot be reserved than is on hand.",
            ),
            models.CheckConstraint(
                condition=Q(reorder_point__gte=0),
                name="stocklevel_reorder_point_not_negative",
                violation_error_message="The reorder point cannot be negative.",
            ),
            models.CheckConstraint(
                condition=Q(average_cost__gte=0),
                name="stocklevel_average_cost_not_negative",
                violation_error_message="The average cost cannot be negative.",
            ),
        ]
        indexes = [
            # Stock of a location (admin filter, ?location=, low-stock listing per site).
            models.Index(fields=["company", "location"], name="stocklevel_location_idx"),
        ]

    def __str__(self):
        return f"{self.equipment} at {self.location}"

    @property
    def available(self):
        return self.on_hand - self.reserved

    @property
    def is_low(self):
        return self.available < self.reorder_point

    @property
    def value(self):
        """Stock valuation: quantity on hand x moving average cost."""
        return self.on_hand * self.average_cost

    def clean(self):
        super().clean()
        errors = {
            field: "Cannot be negative."
            for field in ("on_hand", "reorder_point")
            if getattr(self, field) is not None and getattr(self, field) < 0
        }
        if errors:
            raise ValidationError(errors)
        if self.equipment_id and self.location_id and self.company_id:
            if self.equipment.company_id != self.company_id:
                raise ValidationError({"equipment": "This item is not in your catalogue."})
            if self.location.company_id != self.company_id:
                raise ValidationError({"location": "This location is not in your company."})


class AssetQuerySet(TenantQuerySet):
    def in_stock(self):
        return self.filter(status=AssetStatus.IN_STOCK)


# Where an asset is, by status: at a location, with a patient, or nowhere (retired).
AT_LOCATION_STATUSES = (AssetStatus.IN_STOCK, AssetStatus.RESERVED, AssetStatus.IN_MAINTENANCE)


class Asset(TenantModel):
    """One serialized unit of a catalogue item (a CPAP with its serial number).

    Its status says where it is: in stock, reserved or in maintenance at a
    ``location``; with a ``patient``; or retired. ``reserved_for`` is the order line
    it is promised to while reserved. Status moves only through ``dme.services``;
    every change is in the audit history, every job in the maintenance log.
    """

    equipment = models.ForeignKey("dme.Equipment", on_delete=models.PROTECT, related_name="assets")
    serial_number = models.CharField("serial number", max_length=64)
    status = models.CharField(
        max_length=16, choices=AssetStatus.choices, default=AssetStatus.IN_STOCK, editable=False
    )
    location = models.ForeignKey(
        "accounts.Location",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="dme_assets",
        help_text="Where the unit is while in stock, reserved or in maintenance.",
    )
    patient = models.ForeignKey(
        "clinical.Patient",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="dme_assets",
        help_text="Who has the unit, while it is with a patient.",
    )
    reserved_for = models.ForeignKey(
        "dme.OrderLine",
        verbose_name="reserved for",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="reserved_assets",
    )
    purchase_date = models.DateField("purchase date", null=True, blank=True)
    purchase_cost = models.DecimalField("purchase cost", **MONEY, null=True, blank=True)
    warranty_ends_on = models.DateField(
        "warranty ends", null=True, blank=True, help_text="The manufacturer's warranty end."
    )
    notes = models.TextField(blank=True, help_text="About the unit; no patient information.")

    objects: ClassVar = AssetQuerySet.as_manager()
    # While with a patient the row names them: every look is logged.
    access_logged = True

    class Meta:
        ordering = ["equipment__name", "serial_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["equipment", "serial_number"],
                name="asset_equipment_serial_uniq",
                violation_error_message="This item already has a unit with this serial number.",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=AT_LOCATION_STATUSES)
                | Q(location__isnull=False, patient__isnull=True),
                name="asset_at_location_has_location",
                violation_error_message=(
                    "A unit in stock, reserved or in maintenance is at a location, "
                    "not with a patient."
                ),
            ),
            models.CheckConstraint(
                condition=~Q(status=AssetStatus.WITH_PATIENT)
                | Q(patient__isnull=False, location__isnull=True),
                name="asset_with_patient_has_patient",
                violation_error_message="A unit with a patient names the patient, not a location.",
            ),
            models.CheckConstraint(
                condition=Q(status=AssetStatus.RESERVED, reserved_for__isnull=False)
                | (~Q(status=AssetStatus.RESERVED) & Q(reserved_for__isnull=True)),
                name="asset_reserved_has_order_line",
                violation_error_message=(
                    "A reserved unit, and only a reserved unit, names its order line."
                ),
            ),
            models.CheckConstraint(
                condition=~Q(status=AssetStatus.ON_LOAN)
                | Q(patient__isnull=False, location__isnull=True),
                name="asset_on_loan_has_patient",
                violation_error_message="A unit on loan names the patient, not a location.",
            ),
            models.CheckConstraint(
                condition=Q(purchase_cost__isnull=True) | Q(purchase_cost__gte=0),
                name="asset_purchase_cost_not_negative",
                violation_error_message="The purchase cost cannot be negative.",
            ),
        ]
        indexes = [
            # Picking free units for an order: equipment, location, in stock.
            models.Index(fields=["equipment", "location", "status"], name="asset_pick_idx"),
            # Admin/API status filter within a company.
            models.Index(fields=["company", "status"], name="asset_status_idx"),
            # The data-quality window: rows changed since the last passed run
            # (core.quality.checks.changed_rows).
            models.Index(fields=["updated_at"], name="asset_updated_idx"),
        ]

    def __str__(self):
        return f"{self.equipment.name} #{self.serial_number}"

    def clean(self):
        super().clean()
        if self.equipment_id and self.company_id and self.equipment.company_id != self.company_id:
            raise ValidationError({"equipment": "This item is not in your catalogue."})
        if self.equipment_id and not self.equipment.is_serialized:
            raise ValidationError(
                {"equipment": "This item is not serialized: count it in stock levels instead."}
            )
        if self.status in AT_LOCATION_STATUSES and not self.location_id:
            raise ValidationError({"location": "Say where the unit is."})
        if self.location_id and self.company_id and self.location.company_id != self.company_id:
            raise ValidationError({"location": "This location is not in your company."})


class MaintenanceRecord(TenantModel):
    """One entry of an asset's maintenance log: when, what was done, by whom."""

    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="maintenance_records")
    performed_on = models.DateField("date")
    kind = models.CharField(max_length=16, choices=MaintenanceKind.choices)
    work_done = models.TextField("work done", help_text="No patient information here.")
    performed_by = models.CharField(
        "performed by", max_length=200, help_text="Technician or vendor who did the work."
    )
    technician = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The staff user, when one of ours did the work.",
    )

    class Meta:
        ordering = ["-performed_on", "-created_at"]
        indexes = [
            # The asset's log, newest first.
            models.Index(fields=["asset", "performed_on"], name="maintenance_asset_date_idx"),
        ]

    def __str__(self):
        return f"{self.performed_on}: {self.get_kind_display()}"
