"""Nightly PAP usage, the imports that brought it, and each rental's adherence.

The hours, AHI and leak of a night are the patient's health information, stored as
plain numbers like a biometric alert's value (the rule and the trends add them up in
the database's order); the patient they belong to is only reachable through the
tenant-scoped rental, and every view through the admin and the API is access-logged.
"""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from core.models import TenantModel

from .choices import AdherenceState, UsageSource


class UsageNight(TenantModel):
    """One night of a PAP device's use, as the maker's cloud export gives it.

    One row per night per rental: re-importing a file updates the nights it holds.
    """

    rental = models.ForeignKey("dme.Rental", on_delete=models.PROTECT, related_name="usage_nights")
    patient = models.ForeignKey(
        "clinical.Patient", on_delete=models.PROTECT, related_name="usage_nights"
    )
    night = models.DateField(help_text="The date the night began.")
    hours = models.DecimalField(
        "hours used",
        max_digits=4,
        decimal_places=2,
        validators=[MinValueValidator(0), MaxValueValidator(24)],
    )
    ahi = models.DecimalField(
        "AHI", max_digits=5, decimal_places=1, null=True, blank=True, help_text="Events per hour."
    )
    leak = models.DecimalField(
        "leak", max_digits=5, decimal_places=1, null=True, blank=True, help_text="L/min."
    )
    source = models.CharField(max_length=24, choices=UsageSource.choices)

    access_logged = True

    class Meta:
        ordering = ["rental", "night"]
        constraints = [
            models.UniqueConstraint(
                fields=["rental", "night"],
                name="usage_one_row_per_night",
                violation_error_message="This night is already recorded for the rental.",
            ),
            models.CheckConstraint(
                condition=Q(hours__gte=0, hours__lte=24),
                name="usage_hours_0_24",
                violation_error_message="Hours used must be between 0 and 24.",
            ),
            models.CheckConstraint(
                condition=(Q(ahi__isnull=True) | Q(ahi__gte=0))
                & (Q(leak__isnull=True) | Q(leak__gte=0)),
                name="usage_ahi_leak_not_negative",
                violation_error_message="AHI and leak cannot be negative.",
            ),
        ]
        indexes = [
            # The features and trends read a patient's nights in order.
            models.Index(fields=["patient", "night"], name="usage_patient_night_idx"),
        ]

    def __str__(self):
        return f"Night of {self.night.isoformat()}"


class UsageImport(TenantModel):
    """One file imported: which rental, how many nights new, changed, unchanged.

    The file name is not kept (makers name exports after the patient)."""

    rental = models.ForeignKey("dme.Rental", on_delete=models.PROTECT, related_name="usage_imports")
    source = models.CharField(max_length=24, choices=UsageSource.choices)
    rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField("new nights", default=0)
    updated_count = models.PositiveIntegerField("changed nights", default=0)
    unchanged_count = models.PositiveIntegerField("unchanged nights", default=0)
    first_night = models.DateField(null=True, blank=True)
    last_night = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"Usage import of {self.created_at:%Y-%m-%d %H:%M}"


class AdherenceStatus(TenantModel):
    """Where one PAP rental stands against the adherence rule (``adherence.rules``),
    recomputed by every import and by the daily task."""

    rental = models.OneToOneField("dme.Rental", on_delete=models.PROTECT, related_name="adherence")
    patient = models.ForeignKey(
        "clinical.Patient", on_delete=models.PROTECT, related_name="adherence_statuses"
    )
    state = models.CharField(
        max_length=16, choices=AdherenceState.choices, default=AdherenceState.NO_DATA
    )
    period_start = models.DateField("day 1")
    period_end = models.DateField("day 90")
    known_through = models.DateField("usage known through", null=True, blank=True)
    nights_recorded = models.PositiveSmallIntegerField(default=0)
    best_window_start = models.DateField("best 30-day window from", null=True, blank=True)
    best_window_nights = models.PositiveSmallIntegerField("nights >= 4 h in it", default=0)
    met_on = models.DateField("met on", null=True, blank=True)
    trailing_nights = models.PositiveSmallIntegerField("nights >= 4 h, last 30 days", default=0)
    trailing_days = models.PositiveSmallIntegerField("days counted", default=0)
    days_remaining = models.PositiveSmallIntegerField(default=0)
    evaluated_at = models.DateTimeField()
    alert = models.ForeignKey(
        "clinical.BiometricAlert",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The compliance alert raised while the rental falls short.",
    )
    prediction = models.ForeignKey(
        "clinical.PredictionLog",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The day-14 non-adherence prediction.",
    )

    access_logged = True

    class Meta:
        verbose_name = "adherence status"
        verbose_name_plural = "adherence statuses"
        ordering = ["period_end"]
        constraints = [
            models.CheckConstraint(
                condition=Q(state=AdherenceState.MET) | Q(met_on__isnull=True),
                name="adherence_met_on_only_if_met",
                violation_error_message="Only a met rental has the night it was met.",
            ),
        ]
        indexes = [
            # The worklist: rentals falling short, the nearest end first.
            models.Index(fields=["company", "state", "period_end"], name="adherence_state_idx"),
        ]

    def __str__(self):
        return f"Adherence: {self.get_state_display()}"
