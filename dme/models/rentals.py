"""Rentals: equipment a patient keeps and the payer pays for month by month."""

from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.db.models import F, ProtectedError, Q
from django.db.models.signals import pre_delete
from django.dispatch import receiver

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
    # Billing continuity (42 CFR 414.230, docs/domain/hme-billing.md). -----------------
    next_bill_date = models.DateField(
        "next month due",
        null=True,
        blank=True,
        editable=False,
        help_text="Date of service of the next month to record; empty when no month is due "
        "any more (capped, returned). Kept by dme.services; the daily run reads it.",
    )
    continues = models.ForeignKey(
        "self",
        verbose_name="continues the rental",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="continued_by",
        help_text="The earlier rental of the same item whose month count this one goes on "
        "with (a break of use within 60 days plus the rest of the rental month).",
    )
    new_medical_need_on = models.DateField(
        "new medical need documented on",
        null=True,
        blank=True,
        editable=False,
        help_text="Date of the prescriber's new order documenting a new medical need: after "
        "a longer break a new rental period starts only with it.",
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
            # The daily billing run: rentals with a month due, whatever the company.
            models.Index(
                fields=["next_bill_date"],
                condition=Q(next_bill_date__isnull=False),
                name="rental_next_bill_idx",
            ),
            # The data-quality window: rows changed since the last passed run
            # (core.quality.checks.changed_rows).
            models.Index(fields=["updated_at"], name="rental_updated_idx"),
        ]

    def __str__(self):
        unit = f" #{self.asset.serial_number}" if self.asset_id else ""
        return f"{self.equipment.name}{unit} rented from {self.start_date}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if (
            self._state.adding
            and self.next_bill_date is None
            and (self.status == RentalStatus.ACTIVE)
        ):
            # Month 1 is due on the start date (the date of delivery).
            self.next_bill_date = self.start_date
        super().save(*args, **kwargs)

    @property
    def months_remaining(self):
        if self.cap_months is None:
            return None
        return self.cap_months - self.months_billed


class RentalMonth(TenantModel):
    """One month of a rental furnished to the patient: what billing bills (a claim line
    points at it) and what continuity counts.

    ``sequence`` is the month of this rental (1 = the start date; the date of service is
    the start date plus ``sequence - 1`` months). ``period`` and ``number`` are the
    rental period and its month (1-13 for capped rentals, 1-60 for oxygen): a rental
    that continues an earlier one (``Rental.continues``) goes on with its period and
    numbers, so the modifiers and the fee band follow ``number``. ``paid`` is False for
    oxygen months 37-60, furnished without payment (42 CFR 414.226).
    """

    rental = models.ForeignKey(Rental, on_delete=models.PROTECT, related_name="months")
    sequence = models.PositiveSmallIntegerField("month of this rental")
    period = models.PositiveSmallIntegerField("rental period", default=1)
    number = models.PositiveSmallIntegerField("month of the period")
    date_of_service = models.DateField("date of service")
    paid = models.BooleanField("paid month", default=True)

    access_logged = True
    location_field = "rental__order__location"
    patient_field = "rental__patient_id"

    class Meta:
        ordering = ["rental", "sequence"]
        constraints = [
            models.UniqueConstraint(
                fields=["rental", "sequence"],
                name="rentalmonth_rental_sequence_uniq",
                violation_error_message="This month of the rental is already recorded.",
            ),
            models.UniqueConstraint(
                fields=["rental", "period", "number"],
                name="rentalmonth_period_number_uniq",
                violation_error_message="This month of the rental period is already recorded.",
            ),
            models.CheckConstraint(
                condition=Q(sequence__gte=1) & Q(period__gte=1) & Q(number__gte=1),
                name="rentalmonth_numbers_positive",
                violation_error_message="Rental months are counted from 1.",
            ),
        ]
        indexes = [
            # The data-quality window: rows changed since the last passed run
            # (core.quality.checks.changed_rows).
            models.Index(fields=["updated_at"], name="rentalmonth_updated_idx"),
        ]

    def __str__(self):
        return f"Rental month {self.number} (period {self.period}), {self.date_of_service}"


# Nothing billable is deleted (docs/domain/hme-billing.md) ---------------------------------
# The admin and the API offer no delete for these; the database PROTECTs most links
# (a rental's months, a delivered order's deliveries, claim lines). A delivery holding
# its proof of delivery has nothing pointing at it, so the ORM refuses it here too.


@receiver(pre_delete, sender="dme.Delivery")
def _keep_proof_of_delivery(sender: Any, instance: Any, **kwargs: Any) -> None:
    if instance.delivered_on is not None or instance.signed_at is not None:
        raise ProtectedError(
            "A delivery with its proof of delivery is kept (7 years): it cannot be deleted.",
            {instance},
        )
