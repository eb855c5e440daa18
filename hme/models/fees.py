"""Fee schedules (what a payer allows) and the supplier's own charge list.

A fee schedule entry is payer + HCPCS + modifiers + band (rental months 1-3, rental
months 4-13, new purchase, used purchase, per unit) -> the allowable, in force from
``effective_from`` to ``effective_to`` (open-ended when empty), for a state (empty:
any). Imported from the CMS DMEPOS fee schedule file by ``manage.py
import_fee_schedule`` (docs/domain/hme-billing.md) or entered in the admin.
"""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q

from core.fields import HCPCSCodeField
from core.models import TenantModel
from core.money import MONEY


class FeeBand(models.TextChoices):
    """What part of an item's payment an amount is (42 CFR 414.229: capped rentals pay
    months 1-3 at one rate and months 4-13 at a lower one)."""

    RENTAL_1_3 = "rental_1_3", "Rental, months 1-3 (every month when the rental has no cap)"
    RENTAL_4_13 = "rental_4_13", "Rental, months 4-13"
    NEW_PURCHASE = "new_purchase", "New purchase (NU)"
    USED_PURCHASE = "used_purchase", "Used purchase (UE)"
    UNIT = "unit", "Per unit (supplies, no pricing modifier)"


class FeeScheduleEntry(TenantModel):
    """One allowable of a payer's fee schedule."""

    payer = models.ForeignKey("hme.Payer", on_delete=models.PROTECT, related_name="fees")
    hcpcs = HCPCSCodeField("HCPCS")
    modifier = models.CharField("MOD", max_length=2, blank=True)
    modifier2 = models.CharField("MOD2", max_length=2, blank=True)
    band = models.CharField(max_length=16, choices=FeeBand.choices)
    state = models.CharField(
        max_length=2, blank=True, help_text="Two-letter state of the fee column; empty: any."
    )
    allowable = models.DecimalField(**MONEY)
    effective_from = models.DateField("in force from")
    effective_to = models.DateField("in force to", null=True, blank=True)
    source = models.CharField(max_length=200, blank=True, help_text="File (and row) imported.")

    class Meta:
        verbose_name = "fee schedule entry"
        verbose_name_plural = "fee schedule"
        ordering = ["payer", "hcpcs", "band", "-effective_from"]
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "payer",
                    "hcpcs",
                    "modifier",
                    "modifier2",
                    "band",
                    "state",
                    "effective_from",
                ],
                name="fee_entry_uniq",
                violation_error_message="This payer already has this fee from this date.",
            ),
            models.CheckConstraint(
                condition=Q(allowable__gte=0),
                name="fee_allowable_not_negative",
                violation_error_message="An allowable cannot be negative.",
            ),
            models.CheckConstraint(
                condition=Q(effective_to__isnull=True) | Q(effective_to__gte=F("effective_from")),
                name="fee_ends_after_start",
                violation_error_message="A fee cannot end before it starts.",
            ),
        ]
        indexes = [
            # The look-up of billing: payer, code, band, in force on a date.
            models.Index(
                fields=["payer", "hcpcs", "band", "effective_from"], name="fee_lookup_idx"
            ),
        ]

    def __str__(self):
        return f"{self.hcpcs} {self.get_band_display()}: {self.allowable}"

    def clean(self):
        super().clean()
        self.state = (self.state or "").upper()
        self.modifier = (self.modifier or "").upper()
        self.modifier2 = (self.modifier2 or "").upper()
        if self.payer_id and self.company_id and self.payer.company_id != self.company_id:
            raise ValidationError({"payer": "This payer is not in your company."})
        if self.effective_to and self.effective_from and self.effective_to < self.effective_from:
            raise ValidationError({"effective_to": "A fee cannot end before it starts."})


class SupplierCharge(TenantModel):
    """The supplier's own charge (its price list) for an item and band: what a claim
    line charges, whatever the payer allows."""

    hcpcs = HCPCSCodeField("HCPCS")
    band = models.CharField(max_length=16, choices=FeeBand.choices)
    charge = models.DecimalField(help_text="For one unit (a month, for rentals).", **MONEY)

    class Meta:
        verbose_name = "supplier charge"
        ordering = ["hcpcs", "band"]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "hcpcs", "band"],
                name="supplier_charge_uniq",
                violation_error_message="This item already has a charge for this band.",
            ),
            models.CheckConstraint(
                condition=Q(charge__gte=0),
                name="supplier_charge_not_negative",
                violation_error_message="A charge cannot be negative.",
            ),
        ]

    def __str__(self):
        return f"{self.hcpcs} {self.get_band_display()}: {self.charge}"
