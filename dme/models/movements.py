"""Stock moving between places: transfers between our locations, the movement ledger,
and cycle counts.

A transfer is shipped (its stock leaves the source: in transit, counted at neither
end) and then received (its stock arrives at the destination); each step is one
transaction in ``dme.services.transfers``. Every receipt, transfer, count adjustment
and unit status change writes a :class:`StockMovement`; a unit's history reads them.
"""

from typing import Any, ClassVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from core.models import CompanyNumberCounter, TenantModel, TenantQuerySet
from core.money import MONEY

from ..choices import CountSheetStatus, MovementKind, TransferStatus

TRANSFER_NUMBER_PREFIX = "TR-"
COUNT_SHEET_NUMBER_PREFIX = "CS-"


class TransferNumberCounter(CompanyNumberCounter):
    """The last transfer number given out in a company."""


class CountSheetNumberCounter(CompanyNumberCounter):
    """The last count sheet number given out in a company."""


class TransferQuerySet(TenantQuerySet):
    def in_transit(self):
        return self.filter(status=TransferStatus.IN_TRANSIT)


class Transfer(TenantModel):
    """Stock sent from one of our locations to another (a warehouse, a driver's van)."""

    number = models.CharField(max_length=16, editable=False)
    from_location = models.ForeignKey(
        "accounts.Location",
        verbose_name="from",
        on_delete=models.PROTECT,
        related_name="dme_transfers_out",
    )
    to_location = models.ForeignKey(
        "accounts.Location",
        verbose_name="to",
        on_delete=models.PROTECT,
        related_name="dme_transfers_in",
    )
    status = models.CharField(
        max_length=16,
        choices=TransferStatus.choices,
        default=TransferStatus.DRAFT,
        editable=False,
    )
    shipped_at = models.DateTimeField("shipped", null=True, blank=True, editable=False)
    received_at = models.DateTimeField("received", null=True, blank=True, editable=False)
    notes = models.TextField(blank=True, help_text="No patient information here.")

    objects: ClassVar = TransferQuerySet.as_manager()
    location_field = "from_location"

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "number"],
                name="transfer_company_number_uniq",
                violation_error_message="This transfer number is taken.",
            ),
            models.CheckConstraint(
                condition=~Q(from_location=models.F("to_location")),
                name="transfer_between_two_locations",
                violation_error_message="A transfer goes to another location.",
            ),
        ]
        indexes = [
            models.Index(fields=["company", "status"], name="transfer_status_idx"),
        ]

    def __str__(self):
        return self.number or "New transfer"

    @property
    def is_editable(self):
        return self.status == TransferStatus.DRAFT

    def clean(self):
        super().clean()
        if self.from_location_id and self.from_location_id == self.to_location_id:
            raise ValidationError({"to_location": "A transfer goes to another location."})
        for field in ("from_location", "to_location"):
            location = getattr(self, field, None) if getattr(self, f"{field}_id") else None
            if location is not None and self.company_id and location.company_id != self.company_id:
                raise ValidationError({field: "This location is not in your company."})


class TransferLine(TenantModel):
    """One item of a transfer: a quantity of a supply, or one serialized unit. The
    cost leaving the source is recorded when shipped and carried to the destination."""

    transfer = models.ForeignKey(Transfer, on_delete=models.CASCADE, related_name="lines")
    equipment = models.ForeignKey(
        "dme.Equipment", on_delete=models.PROTECT, related_name="transfer_lines"
    )
    quantity = models.PositiveIntegerField(default=1)
    asset = models.ForeignKey(
        "dme.Asset",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="transfer_lines",
        help_text="The unit, for a serialized item (quantity 1).",
    )
    unit_cost = models.DecimalField("unit cost", **MONEY, default=0, editable=False)

    class Meta:
        ordering = ["transfer", "created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0),
                name="transferline_quantity_positive",
                violation_error_message="The quantity must be at least 1.",
            ),
            models.CheckConstraint(
                condition=Q(asset__isnull=True) | Q(quantity=1),
                name="transferline_unit_is_one",
                violation_error_message="A line with a unit moves exactly that one unit.",
            ),
        ]

    def __str__(self):
        if self.asset_id:
            return str(self.asset)
        return f"{self.quantity} x {self.equipment}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.company_id is None and self.transfer_id:
            self.company_id = self.transfer.company_id
        super().save(*args, **kwargs)


class StockMovement(TenantModel):
    """One line of the stock ledger: a quantity of an item into (+) or out of (-) a
    location, at a cost, with the unit and lot when there is one, and what caused it.
    Written by the services only, never changed."""

    kind = models.CharField(max_length=16, choices=MovementKind.choices)
    moved_at = models.DateTimeField("when")
    equipment = models.ForeignKey(
        "dme.Equipment", on_delete=models.PROTECT, related_name="stock_movements"
    )
    location = models.ForeignKey(
        "accounts.Location", on_delete=models.PROTECT, related_name="dme_stock_movements"
    )
    quantity = models.IntegerField(help_text="Into the location (+) or out of it (-).")
    unit_cost = models.DecimalField("unit cost", **MONEY, default=0)
    asset = models.ForeignKey(
        "dme.Asset",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="stock_movements",
    )
    lot = models.ForeignKey(
        "dme.Lot", on_delete=models.PROTECT, null=True, blank=True, related_name="movements"
    )
    reference = models.CharField(
        max_length=32, blank=True, help_text="The receipt, transfer or count sheet number."
    )
    reason = models.CharField(max_length=200, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    location_field = "location"

    class Meta:
        ordering = ["-moved_at", "-created_at"]
        indexes = [
            # A unit's history, oldest first.
            models.Index(fields=["asset", "moved_at"], name="movement_asset_idx"),
            # An item's ledger at a location.
            models.Index(
                fields=["company", "equipment", "location", "moved_at"],
                name="movement_item_location_idx",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.quantity:+d} {self.equipment}"


class CountSheet(TenantModel):
    """A cycle count of one location: the expected quantities when it was opened, the
    counted ones, and, once posted, the variances adjusted through the stock service."""

    number = models.CharField(max_length=16, editable=False)
    location = models.ForeignKey(
        "accounts.Location", on_delete=models.PROTECT, related_name="dme_count_sheets"
    )
    status = models.CharField(
        max_length=16,
        choices=CountSheetStatus.choices,
        default=CountSheetStatus.OPEN,
        editable=False,
    )
    posted_at = models.DateTimeField("posted", null=True, blank=True, editable=False)
    notes = models.TextField(blank=True)

    location_field = "location"

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "number"],
                name="countsheet_company_number_uniq",
                violation_error_message="This count sheet number is taken.",
            ),
        ]

    def __str__(self):
        return self.number or "New count sheet"

    @property
    def is_editable(self):
        return self.status == CountSheetStatus.OPEN


class CountLine(TenantModel):
    """One item of a count sheet: expected (on hand when the sheet opened), counted, and
    the reason given for a variance."""

    count_sheet = models.ForeignKey(CountSheet, on_delete=models.CASCADE, related_name="lines")
    equipment = models.ForeignKey(
        "dme.Equipment", on_delete=models.PROTECT, related_name="count_lines"
    )
    expected_quantity = models.IntegerField("expected", editable=False)
    counted_quantity = models.PositiveIntegerField("counted", null=True, blank=True)
    reason = models.CharField(
        max_length=200, blank=True, help_text="Why the count differs (damaged, found, ...)."
    )

    class Meta:
        ordering = ["count_sheet", "equipment__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["count_sheet", "equipment"],
                name="countline_sheet_equipment_uniq",
                violation_error_message="This item is already on the count sheet.",
            ),
        ]

    def __str__(self):
        return str(self.equipment)

    @property
    def variance(self):
        if self.counted_quantity is None:
            return None
        return self.counted_quantity - self.expected_quantity
