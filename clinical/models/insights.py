"""Insights posted by integrators' AI services: stored and shown, never computed here."""

from decimal import Decimal
from typing import ClassVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from core.models import TenantModel, TenantQuerySet
from core.phi import EncryptedCharField, EncryptedJSONField, EncryptedTextField

from ..choices import AIModelKind, InsightType
from .records import _check_same_company

UNIT_INTERVAL = [MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(1))]


def _unit_interval_check(field, name):
    return models.CheckConstraint(
        condition=Q(**{f"{field}__isnull": True}) | Q(**{f"{field}__gte": 0, f"{field}__lte": 1}),
        name=name,
        violation_error_message=f"The {field} must be between 0 and 1.",
    )


def _probability_field(verbose_name, **kwargs):
    return models.DecimalField(
        verbose_name, max_digits=5, decimal_places=4, validators=UNIT_INTERVAL, **kwargs
    )


class AIModel(TenantModel):
    """A model an integrator runs for the company (name + version), registered so that
    every prediction and insight says which model produced it."""

    name = models.CharField(max_length=100)
    version = models.CharField(max_length=50)
    kind = models.CharField(max_length=16, choices=AIModelKind.choices)
    description = models.TextField(blank=True)
    accuracy = _probability_field(
        "accuracy", null=True, blank=True, help_text="Validated accuracy, 0 to 1."
    )
    is_active = models.BooleanField("active", default=True)
    # Models trained here (adherence.ml): what they learned from and how they scored on
    # held-out data, and the artefact file with the checksum it is verified against
    # before it is loaded (never an artefact this site did not write).
    training_set_size = models.PositiveIntegerField("training-set size", null=True, blank=True)
    auc = _probability_field("held-out AUC", null=True, blank=True)
    trained_at = models.DateTimeField("trained at", null=True, blank=True)
    artefact = models.CharField(
        max_length=255, blank=True, help_text="File under the models directory."
    )
    artefact_sha256 = models.CharField("artefact SHA-256", max_length=64, blank=True)

    class Meta:
        verbose_name = "AI model"
        ordering = ["name", "version"]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "name", "version"],
                name="aimodel_company_name_version_uniq",
                violation_error_message="This model version is already registered.",
            ),
            _unit_interval_check("accuracy", "aimodel_accuracy_unit_interval"),
            _unit_interval_check("auc", "aimodel_auc_unit_interval"),
        ]

    def __str__(self):
        return f"{self.name} {self.version}"


class PredictionLog(TenantModel):
    """One prediction an AI service made about a patient: what went in, what came out.

    Append-only: the API offers no update or delete, and the admin shows it read-only.
    """

    model = models.ForeignKey(AIModel, on_delete=models.PROTECT, related_name="predictions")
    patient = models.ForeignKey(
        "clinical.Patient", on_delete=models.PROTECT, related_name="predictions"
    )
    input_data = EncryptedJSONField("input", default=dict, blank=True)
    prediction = EncryptedJSONField(default=dict, blank=True)
    confidence = _probability_field("confidence")
    processing_ms = models.PositiveIntegerField("processing time (ms)", null=True, blank=True)
    # What really happened, written back when the outcome is known (adherence: when the
    # 90-day window closes); the only fields ever changed after the row is written.
    actual = EncryptedJSONField("actual outcome", default=dict, blank=True, editable=False)
    actual_recorded_at = models.DateTimeField(
        "outcome recorded at", null=True, blank=True, editable=False
    )

    access_logged = True

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            _unit_interval_check("confidence", "prediction_confidence_unit_interval"),
        ]
        indexes = [
            # Cursor pagination walks (created_at, id); filters by patient or model.
            models.Index(fields=["company", "created_at", "id"], name="prediction_time_idx"),
            models.Index(fields=["patient", "created_at"], name="prediction_patient_idx"),
            models.Index(fields=["model", "created_at"], name="prediction_model_idx"),
        ]

    def __str__(self):
        return f"Prediction {self.pk}"

    def clean(self):
        super().clean()
        errors = _check_same_company(self, ["model", "patient"])
        if errors:
            raise ValidationError(errors)


class HealthInsightQuerySet(TenantQuerySet):
    def current(self, now):
        """Not expired at ``now``."""
        return self.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))

    def awaiting_action(self):
        return self.filter(is_actionable=True, action_taken_at__isnull=True)


class HealthInsight(TenantModel):
    """Something an AI service wants staff to know about a patient ("CPAP use fell
    below 4 h a night for 5 of the last 7 nights"), possibly with an action to take.

    Title, description and data are the patient's health information: encrypted.
    """

    patient = models.ForeignKey(
        "clinical.Patient", on_delete=models.PROTECT, related_name="health_insights"
    )
    model = models.ForeignKey(
        AIModel,
        verbose_name="AI model",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="insights",
    )
    insight_type = models.CharField("type", max_length=24, choices=InsightType.choices)
    title = EncryptedCharField(max_length=200)
    description = EncryptedTextField(blank=True)
    data = EncryptedJSONField(default=dict, blank=True)
    confidence = _probability_field("confidence", null=True, blank=True)
    expires_at = models.DateTimeField("expires at", null=True, blank=True)
    is_actionable = models.BooleanField("actionable", default=False)
    action_taken = EncryptedTextField(blank=True, editable=False)
    action_taken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    action_taken_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects: ClassVar = HealthInsightQuerySet.as_manager()

    access_logged = True

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            _unit_interval_check("confidence", "insight_confidence_unit_interval"),
            models.CheckConstraint(
                condition=Q(action_taken_at__isnull=True) | Q(is_actionable=True),
                name="insight_action_only_if_actionable",
                violation_error_message="Only an actionable insight records an action.",
            ),
        ]
        indexes = [
            # A patient's insights, newest first.
            models.Index(fields=["patient", "created_at"], name="insight_patient_idx"),
            # The staff queue: actionable insights without an action yet.
            models.Index(
                fields=["company", "is_actionable", "action_taken_at"], name="insight_queue_idx"
            ),
        ]

    def __str__(self):
        return f"{self.get_insight_type_display()} insight"

    def clean(self):
        super().clean()
        errors = _check_same_company(self, ["patient", "model"])
        if errors:
            raise ValidationError(errors)


class DigitalTwin(TenantModel):
    """The AI service's running model of one patient: symptom forecast, correlations
    between biometrics, responses to medications. One per patient; integrators replace
    its contents as they recompute."""

    patient = models.OneToOneField(
        "clinical.Patient", on_delete=models.PROTECT, related_name="digital_twin"
    )
    model = models.ForeignKey(
        AIModel,
        verbose_name="AI model",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="digital_twins",
    )
    symptom_forecast = EncryptedJSONField(default=dict, blank=True)
    biometric_correlations = EncryptedJSONField(default=dict, blank=True)
    medication_responses = EncryptedJSONField(default=dict, blank=True)
    computed_at = models.DateTimeField(
        "last computed", help_text="When the AI service last recomputed it."
    )

    access_logged = True

    class Meta:
        ordering = ["-computed_at"]

    def __str__(self):
        return f"Digital twin of {self.patient_id}"

    def clean(self):
        super().clean()
        errors = _check_same_company(self, ["patient", "model"])
        if errors:
            raise ValidationError(errors)
