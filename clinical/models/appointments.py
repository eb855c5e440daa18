"""Appointments: fittings, setups, follow-ups, therapy visits, telehealth."""

from datetime import datetime
from typing import ClassVar, Self

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from core.models import TenantModel, TenantQuerySet
from core.phi import EncryptedTextField

from ..choices import AppointmentKind, AppointmentStatus

# Statuses that hold the provider's time. A cancelled or missed slot frees it.
BLOCKING_STATUSES = (
    AppointmentStatus.SCHEDULED,
    AppointmentStatus.CONFIRMED,
    AppointmentStatus.COMPLETED,
)
# The PostgreSQL exclusion constraint (migration 0002) carries this name.
NO_OVERLAP_CONSTRAINT = "appointment_provider_no_overlap"


class AppointmentQuerySet(TenantQuerySet):
    def blocking(self) -> Self:
        return self.filter(status__in=BLOCKING_STATUSES)

    def overlapping(self, starts_at: datetime, ends_at: datetime) -> Self:
        """Appointments sharing any moment with ``[starts_at, ends_at)``: back-to-back
        slots (one ends at 10:00, the next starts at 10:00) do not overlap."""
        return self.filter(starts_at__lt=ends_at, ends_at__gt=starts_at)

    def upcoming(self, now):
        return self.filter(starts_at__gte=now).exclude(
            status__in=[AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW]
        )


class Appointment(TenantModel):
    """A patient's time with a provider at a location.

    A provider is never booked twice for overlapping times: ``clinical.services``
    checks under a lock on the provider row (both databases), and on PostgreSQL an
    exclusion constraint backs it up (migration 0002; it cannot live in ``Meta``
    because SQLite has no exclusion constraints). Status changes go through the
    services' transition table. Telehealth visits still belong to the location that
    runs them, which is what scopes them to staff.
    """

    patient = models.ForeignKey(
        "clinical.Patient", on_delete=models.PROTECT, related_name="appointments"
    )
    provider = models.ForeignKey(
        "clinical.Provider", on_delete=models.PROTECT, related_name="appointments"
    )
    location = models.ForeignKey("accounts.Location", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=24, choices=AppointmentKind.choices)
    starts_at = models.DateTimeField("starts at")
    ends_at = models.DateTimeField("ends at")
    status = models.CharField(
        max_length=16,
        choices=AppointmentStatus.choices,
        default=AppointmentStatus.SCHEDULED,
        editable=False,
    )
    is_virtual = models.BooleanField("virtual", default=False)
    notes = EncryptedTextField(blank=True)

    objects: ClassVar = AppointmentQuerySet.as_manager()

    access_logged = True
    location_field = "location"
    patient_field = "patient_id"

    class Meta:
        ordering = ["starts_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")),
                name="appointment_ends_after_start",
                violation_error_message="The appointment must end after it starts.",
            ),
        ]
        indexes = [
            # The overlap check and a provider's schedule: provider, then time.
            models.Index(fields=["provider", "starts_at"], name="appointment_provider_idx"),
            # A patient's appointments (patient page, ?patient=).
            models.Index(fields=["patient", "starts_at"], name="appointment_patient_idx"),
            # The day's list: company-wide by date range, optionally by status.
            models.Index(fields=["company", "starts_at"], name="appointment_day_idx"),
            models.Index(fields=["company", "status", "starts_at"], name="appointment_status_idx"),
            # The data-quality window: rows changed since the last passed run
            # (core.quality.checks.changed_rows).
            models.Index(fields=["updated_at"], name="appointment_updated_idx"),
        ]

    def __str__(self):
        # Local time, as the tables beside it show (stored UTC; USE_TZ).
        return f"{self.get_kind_display()} {timezone.localtime(self.starts_at):%Y-%m-%d %H:%M}"

    @property
    def blocks_provider(self):
        return self.status in BLOCKING_STATUSES

    def clean(self):
        super().clean()
        errors = {}
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            errors["ends_at"] = "The appointment must end after it starts."
        if self.kind == AppointmentKind.TELEHEALTH and not self.is_virtual:
            errors["is_virtual"] = "A telehealth appointment is virtual: tick the box."
        if self.company_id:
            for name in ("patient", "provider", "location"):
                related_id = getattr(self, f"{name}_id")
                if related_id and getattr(self, name).company_id != self.company_id:
                    errors[name] = "Choose one of your company's records."
        if errors:
            raise ValidationError(errors)
