"""What is known about a patient clinically: records, diagnoses, biometric alerts."""

from typing import ClassVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from core.models import TenantModel, TenantQuerySet
from core.phi import EncryptedJSONField, EncryptedTextField
from core.validators import normalize_icd10, validate_icd10

from ..choices import METRIC_UNITS, AlertStatus, Metric, RecordType, Severity
from ..fields import ICD10CodeField, display_icd10


def _check_same_company(instance, names):
    """Related rows must belong to the instance's company (defence in depth: forms and
    serializers already offer only the user's company's rows)."""
    if not instance.company_id:
        return {}
    errors = {}
    for name in names:
        if getattr(instance, f"{name}_id") and getattr(instance, name).company_id != (
            instance.company_id
        ):
            errors[name] = "Choose one of your company's records."
    return errors


def clean_icd10_list(codes):
    """Validate a list of ICD-10-CM codes; return them normalised (no dot), deduplicated."""
    if not isinstance(codes, list | tuple):
        raise ValidationError('Give the diagnosis codes as a list, as in ["G47.33"].')
    cleaned, errors = [], []
    for code in codes:
        try:
            validate_icd10(code)
        except ValidationError as error:
            errors.extend(f"{code!s}: {message}" for message in error.messages)
            continue
        normalized = normalize_icd10(code)
        if normalized not in cleaned:
            cleaned.append(normalized)
    if errors:
        raise ValidationError(errors)
    return cleaned


class MedicalRecord(TenantModel):
    """A clinical document about a patient: a visit note, a prescription, a sleep study,
    an oximetry test, a CMN, a lab result, imaging.

    Diagnosis codes stay plaintext (stored without dots) so orders and claims can use
    them; every narrative and result is encrypted.
    """

    patient = models.ForeignKey(
        "clinical.Patient", on_delete=models.PROTECT, related_name="medical_records"
    )
    provider = models.ForeignKey(
        "clinical.Provider",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="medical_records",
        help_text="Who wrote or ordered it; empty for outside documents.",
    )
    record_type = models.CharField("type", max_length=16, choices=RecordType.choices)
    visit_date = models.DateField("visit date")
    diagnosis_codes = models.JSONField(
        "diagnosis codes",
        default=list,
        blank=True,
        help_text='ICD-10-CM codes, as in ["G47.33", "J44.9"].',
    )
    symptoms = EncryptedTextField(blank=True)
    treatment = EncryptedTextField(blank=True)
    medications = EncryptedTextField(blank=True)
    results = EncryptedJSONField(
        blank=True, default=dict, help_text="Structured results, e.g. AHI, SpO2 nadir."
    )

    access_logged = True

    class Meta:
        ordering = ["-visit_date", "-created_at"]
        indexes = [
            # A patient's records, newest first.
            models.Index(fields=["patient", "visit_date"], name="record_patient_idx"),
            # Company-wide lists by type and date range.
            models.Index(
                fields=["company", "record_type", "visit_date"], name="record_type_date_idx"
            ),
            models.Index(fields=["company", "visit_date"], name="record_date_idx"),
            # The data-quality window: rows changed since the last passed run
            # (core.quality.checks.changed_rows).
            models.Index(fields=["updated_at"], name="medicalrecord_updated_idx"),
        ]

    def __str__(self):
        return f"{self.get_record_type_display()} {self.visit_date}"

    @property
    def diagnosis_codes_display(self):
        return ", ".join(display_icd10(code) for code in self.diagnosis_codes or [])

    def clean(self):
        super().clean()
        errors = _check_same_company(self, ["patient", "provider"])
        try:
            self.diagnosis_codes = clean_icd10_list(self.diagnosis_codes or [])
        except ValidationError as error:
            errors["diagnosis_codes"] = error.messages
        if errors:
            raise ValidationError(errors)

    def save(self, *args, **kwargs):
        # Whatever the path (form, API, import), codes are stored without dots.
        self.diagnosis_codes = [normalize_icd10(code) for code in self.diagnosis_codes or []]
        super().save(*args, **kwargs)


class DiagnosisQuerySet(TenantQuerySet):
    def active(self):
        return self.filter(is_active=True)


class Diagnosis(TenantModel):
    """One ICD-10-CM diagnosis on a patient's problem list (G47.33, J44.9, E11.65)."""

    patient = models.ForeignKey(
        "clinical.Patient", on_delete=models.PROTECT, related_name="diagnoses"
    )
    code = ICD10CodeField("ICD-10-CM code", help_text="As G47.33; stored without the dot.")
    description = EncryptedTextField(blank=True)
    onset_date = models.DateField("onset date", null=True, blank=True)
    is_active = models.BooleanField("active", default=True)

    objects: ClassVar = DiagnosisQuerySet.as_manager()

    access_logged = True

    class Meta:
        verbose_name_plural = "diagnoses"
        ordering = ["-is_active", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "code"],
                condition=Q(is_active=True),
                name="diagnosis_patient_code_active_uniq",
                violation_error_message="This patient already has this diagnosis, active.",
            ),
        ]
        indexes = [
            # "Which patients have OSA?" (resupply campaigns, reports).
            models.Index(fields=["company", "code"], name="diagnosis_code_idx"),
            # The data-quality window: rows changed since the last passed run
            # (core.quality.checks.changed_rows).
            models.Index(fields=["updated_at"], name="diagnosis_updated_idx"),
        ]

    def __str__(self):
        return self.display_code

    @property
    def display_code(self):
        return display_icd10(self.code)

    def clean(self):
        super().clean()
        errors = _check_same_company(self, ["patient"])
        if errors:
            raise ValidationError(errors)


class BiometricAlertQuerySet(TenantQuerySet):
    def open(self):
        return self.filter(status=AlertStatus.OPEN)

    def unresolved(self):
        return self.exclude(status=AlertStatus.RESOLVED)


class BiometricAlert(TenantModel):
    """A reading that crossed a threshold (SpO2 below 88%, CPAP used under 4 h a night).

    Posted by monitoring integrations; staff acknowledge and resolve it through the
    services (open -> acknowledged -> resolved, or open -> resolved).
    """

    patient = models.ForeignKey(
        "clinical.Patient", on_delete=models.PROTECT, related_name="biometric_alerts"
    )
    metric = models.CharField(max_length=24, choices=Metric.choices)
    value = models.DecimalField(max_digits=10, decimal_places=2)
    threshold = models.DecimalField(max_digits=10, decimal_places=2)
    severity = models.CharField(max_length=16, choices=Severity.choices, default=Severity.MEDIUM)
    observed_at = models.DateTimeField("observed at", help_text="When the reading was taken.")
    source = models.CharField(
        max_length=100, blank=True, help_text="The device or service that sent it."
    )
    status = models.CharField(
        max_length=16, choices=AlertStatus.choices, default=AlertStatus.OPEN, editable=False
    )
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True, editable=False)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    resolved_at = models.DateTimeField(null=True, blank=True, editable=False)
    resolution_note = EncryptedTextField(blank=True, editable=False)

    objects: ClassVar = BiometricAlertQuerySet.as_manager()

    access_logged = True

    class Meta:
        ordering = ["-observed_at", "-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status=AlertStatus.OPEN) | Q(acknowledged_at__isnull=False),
                name="alert_acknowledged_has_time",
                violation_error_message="An acknowledged or resolved alert needs its time.",
            ),
            models.CheckConstraint(
                condition=~Q(status=AlertStatus.RESOLVED) | Q(resolved_at__isnull=False),
                name="alert_resolved_has_time",
                violation_error_message="A resolved alert needs its resolution time.",
            ),
        ]
        indexes = [
            # The work queue: open alerts of the company, newest first.
            models.Index(fields=["company", "status", "observed_at"], name="alert_queue_idx"),
            # A patient's alerts (patient page inline, ?patient=).
            models.Index(fields=["patient", "status"], name="alert_patient_idx"),
        ]

    def __str__(self):
        return f"{self.get_metric_display()} {self.value} {self.unit}".strip()

    @property
    def unit(self):
        return METRIC_UNITS.get(self.metric, "")

    def clean(self):
        super().clean()
        errors = _check_same_company(self, ["patient"])
        if errors:
            raise ValidationError(errors)
