"""Rentals: equipment a patient keeps and the payer pays for month by month."""

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from core.models import TenantModel, TenantQuerySet

from ..choices import RentalStatus


class RentalQuerySet(TenantQuerySet):
    def active(self):
        return self.filter(status=RentalStatus.ACTIVE)


class Rental(TenantModel):
    """A rented item with a patient, from the delivery (``start_date``, the date of
    service) until it is picked up (``end_date``) or capped.

    Started by ``complete_delivery`` for every rental line: one rental per serialized
    unit, or one for the quantity of a non-serialized line. ``months_billed`` is kept
    by billing (``dme.services.record_billed_month``); at ``cap_months`` paid months
    (13 for capped rentals, 36 for oxygen, none for frequently serviced items) the
    rental is capped. ``return_rental`` records the pickup.
    """

    patient = models.ForeignKey(
        "clinical.Patient", on_delete=models.PROTECT, related_name="dme_rentals"
    )
    order = models.ForeignKey("dme.Order", on_delete=models.PROTECT, related_name="rentals")
    order_line = models.ForeignKey(
        "dme.OrderLine", on_delete=models.PROTECT, related_name="rentals"
    )
    equipment = models.ForeignKey("dme.Equipment", on_delete=models.PROTECT, related_name="rentals")
    asset = models.ForeignKey(
        "dme.Asset",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="rentals",
        help_text="The unit rented, for serialized items.",
    )
    quantity = models.PositiveIntegerField(default=1)
    start_date = models.DateField("start date", help_text="Date of delivery (date of service).")
    end_date = models.DateField("end date", null=True, blank=True, editable=False)
    months_billed = models.PositiveSmallIntegerField("months billed", default=0, editable=False)
    cap_months = models.PositiveSmallIntegerField(
        "cap (months)", null=True, blank=True, help_text="Paid months after which it caps."
    )
    monthly_fee = models.DecimalField("monthly fee", max_digits=12, decimal_places=2)
    status = models.CharField(
        max_length=16, choices=RentalStatus.choices, default=RentalStatus.ACTIVE, editable=False
    )
    capped_on = models.DateField("capped on", null=True, blank=True, editable=False)
    # Pickup, recorded on return. ---------------------------------------------------
    returned_on = models.DateField("picked up on", null=True, blank=True, editable=False)
    picked_up_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="picked up by",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    return_location = models.ForeignKey(
        "accounts.Location",
        verbose_name="returned to",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    return_notes = models.TextField(
        "return notes", blank=True, help_text="Condition of the equipment; no patient information."
    )

    objects: ClassVar = RentalQuerySet.as_manager()
    access_logged = True
    location_field = "order__location"
    patient_field = "patient_id"

    class Meta:
        ordering = ["-start_date", "-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=F("start_date")),
                name="rental_ends_after_start",
                violation_error_message="A rental cannot end before it starts.",
            ),
            models.CheckConstraint(
                condition=Q(cap_months__isnull=True) | Q(months_billed__lte=F("cap_months")),
                name="rental_billed_within_cap",
                violation_error_message="A rental cannot be billed beyond its cap.",
            ),
            models.CheckConstraint(
                condition=Q(quantity__gt=0),
                name="rental_quantity_positive",
                violation_error_message="A rental is of at least one unit.",
            ),
            models.CheckConstraint(
                condition=Q(monthly_fee__gte=0),
                name="rental_fee_not_negative",
                violation_error_message="The monthly fee cannot be negative.",
            ),
            models.CheckConstraint(
                condition=~Q(status=RentalStatus.RETURNED)
                | Q(end_date__isnull=False, returned_on__isnull=False),
                name="rental_returned_has_dates",
                violation_error_message="A returned rental needs its pickup date.",
            ),
            models.UniqueConstraint(
                fields=["asset"],
                condition=Q(status=RentalStatus.ACTIVE),
                name="rental_one_active_per_asset",
                violation_error_message="This unit is already on an active rental.",
            ),
        ]
        indexes = [
            # Billing's monthly run and the rentals list: active rentals of a company.
            models.Index(fields=["company", "status", "start_date"], name="rental_status_idx"),
            # A patient's rentals (?patient=, "same or similar" checks).
            models.Index(fields=["company", "patient"], name="rental_patient_idx"),
        ]

    def __str__(self):
        unit = f" #{self.asset.serial_number}" if self.asset_id else ""
        return f"{self.equipment.name}{unit} rented from {self.start_date}"

    @property
    def months_remaining(self):
        if self.cap_months is None:
            return None
        return self.cap_months - self.months_billed
