"""The equipment catalogue: what the company sells, rents and supplies."""

from typing import ClassVar

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from core.fields import HCPCSCodeField
from core.models import TenantModel, TenantQuerySet
from core.money import MONEY

from ..choices import RENTAL_CAP_MONTHS, BillingKind, EquipmentCategory


class EquipmentQuerySet(TenantQuerySet):
    def active(self):
        return self.filter(is_active=True)


class Equipment(TenantModel):
    """A catalogue item: one HCPCS code as made by one manufacturer, one model.

    ``billing_kind`` says how payers pay for it (purchase, rental, capped rental, oxygen
    rental, supply) and so whether an order line may rent it, and when a rental caps.
    ``is_serialized`` items are tracked unit by unit as :class:`Asset` rows; the others
    only as quantities in :class:`StockLevel`.
    """

    name = models.CharField(max_length=200)
    hcpcs_code = HCPCSCodeField(
        "HCPCS code",
        help_text="HCPCS Level II: one letter and four digits, as E0601.",
    )
    category = models.CharField(max_length=32, choices=EquipmentCategory.choices)
    manufacturer = models.CharField(max_length=100)
    model_number = models.CharField("model", max_length=100)
    description = models.TextField(
        blank=True, help_text="Narrative for orders and proofs of delivery (options, sizes)."
    )
    synonyms = models.CharField(
        max_length=500,
        blank=True,
        help_text="Other words staff type for it, comma-separated: cpap, sleep machine.",
    )
    billing_kind = models.CharField(max_length=16, choices=BillingKind.choices)
    purchase_price = models.DecimalField(
        "purchase price", **MONEY, default=0, help_text="Price of one unit sold new."
    )
    monthly_rental_fee = models.DecimalField(
        "monthly rental fee", **MONEY, default=0, help_text="Fee for one unit for one month."
    )
    is_serialized = models.BooleanField(
        "serialized", default=False, help_text="Each unit has a serial number and is tracked."
    )
    is_lot_tracked = models.BooleanField(
        "lot tracked",
        default=False,
        help_text="Receipts record a lot number and expiry date (supplies with a shelf life).",
    )
    is_active = models.BooleanField("active", default=True)

    objects: ClassVar = EquipmentQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "equipment"
        ordering = ["name", "manufacturer", "model_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "hcpcs_code", "manufacturer", "model_number"],
                name="equipment_company_hcpcs_model_uniq",
                violation_error_message=(
                    "The catalogue already has this HCPCS code for this manufacturer and model."
                ),
            ),
            models.CheckConstraint(
                condition=Q(purchase_price__gte=0),
                name="equipment_purchase_price_not_negative",
                violation_error_message="The purchase price cannot be negative.",
            ),
            models.CheckConstraint(
                condition=Q(monthly_rental_fee__gte=0),
                name="equipment_rental_fee_not_negative",
                violation_error_message="The monthly rental fee cannot be negative.",
            ),
        ]
        indexes = [
            # Catalogue list filtered by category (admin filter, ?category=).
            models.Index(fields=["company", "category"], name="equipment_category_idx"),
            # Look-up by code (admin search "=E0601", ?hcpcs_code=, order entry).
            models.Index(fields=["company", "hcpcs_code"], name="equipment_hcpcs_idx"),
        ]

    def __str__(self):
        return f"{self.name} ({self.hcpcs_code})"

    @property
    def is_rentable(self):
        return self.billing_kind in RENTAL_CAP_MONTHS

    @property
    def rental_cap_months(self):
        return RENTAL_CAP_MONTHS.get(self.billing_kind)

    @property
    def item_description(self):
        """The description a written order and a proof of delivery carry."""
        return f"{self.hcpcs_code} {self.name}, {self.manufacturer} {self.model_number}"

    def clean(self):
        super().clean()
        # Field-level messages (the check constraints would only say it for the row).
        errors = {
            field: "Cannot be negative."
            for field in ("purchase_price", "monthly_rental_fee")
            if getattr(self, field) is not None and getattr(self, field) < 0
        }
        if errors:
            raise ValidationError(errors)
