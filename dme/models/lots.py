"""Traceability: lots of supplies (number and expiry) and manufacturers' recalls."""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from core.models import TenantModel


class Lot(TenantModel):
    """A manufacturer's lot of a lot-tracked supply, with its expiry date. Receipts
    name the lot they brought in (``ReceiptLine.lot``), so a recall of a lot finds where
    it went in."""

    equipment = models.ForeignKey("dme.Equipment", on_delete=models.PROTECT, related_name="lots")
    lot_number = models.CharField("lot number", max_length=64)
    expiry_date = models.DateField("expiry date", null=True, blank=True)

    class Meta:
        ordering = ["equipment__name", "expiry_date", "lot_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["equipment", "lot_number"],
                name="lot_equipment_number_uniq",
                violation_error_message="This item already has a lot with this number.",
            ),
        ]
        indexes = [
            # Lots of an item that expire soonest.
            models.Index(fields=["company", "expiry_date"], name="lot_expiry_idx"),
        ]

    def __str__(self):
        expiry = f", expires {self.expiry_date:%Y-%m-%d}" if self.expiry_date else ""
        return f"Lot {self.lot_number}{expiry}"


class Recall(TenantModel):
    """A manufacturer's recall or field safety notice for a model: every serial number,
    a range of them (``serial_from``..``serial_to``, same length, compared as text), or
    a list. ``dme.services.assets.recalls_for_serial`` finds the units it touches."""

    manufacturer = models.CharField(max_length=100)
    model_number = models.CharField("model", max_length=100)
    reference = models.CharField(
        max_length=64, blank=True, help_text="The manufacturer's or FDA's recall number."
    )
    issued_on = models.DateField("issued", null=True, blank=True)
    serial_from = models.CharField("first serial", max_length=64, blank=True)
    serial_to = models.CharField("last serial", max_length=64, blank=True)
    serial_numbers = models.JSONField(
        "serial numbers",
        default=list,
        blank=True,
        help_text='A list, as ["SN1", "SN2"]; empty with no range: every unit of the model.',
    )
    notice = models.TextField(help_text="What the manufacturer says to do.")

    class Meta:
        ordering = ["-issued_on", "manufacturer", "model_number"]
        constraints = [
            models.CheckConstraint(
                condition=Q(serial_from="", serial_to="") | (~Q(serial_from="") & ~Q(serial_to="")),
                name="recall_serial_range_complete",
                violation_error_message="A serial range has a first and a last serial.",
            ),
        ]

    def __str__(self):
        ref = f" ({self.reference})" if self.reference else ""
        return f"{self.manufacturer} {self.model_number}{ref}"

    def covers(self, serial: str) -> bool:
        """Whether the recall names this serial number (list, range or whole model)."""
        serial = serial.strip().upper()
        listed = [str(s).strip().upper() for s in self.serial_numbers or []]
        if serial in listed:
            return True
        if self.serial_from:
            low, high = self.serial_from.strip().upper(), self.serial_to.strip().upper()
            return len(serial) == len(low) == len(high) and low <= serial <= high
        return not listed

    def clean(self):
        super().clean()
        if bool(self.serial_from) != bool(self.serial_to):
            raise ValidationError({"serial_to": "Give both the first and the last serial."})
        if self.serial_from and len(self.serial_from) != len(self.serial_to):
            raise ValidationError(
                {"serial_to": "The first and last serials of a range have the same length."}
            )
        if self.serial_from and self.serial_from.upper() > self.serial_to.upper():
            raise ValidationError({"serial_to": "The last serial comes after the first."})
        if not isinstance(self.serial_numbers, list):
            raise ValidationError({"serial_numbers": "A list of serial numbers."})
