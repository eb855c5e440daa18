"""Clinical API serializers. Lean on purpose: related records are ids, never nested."""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from core.api.lean import LeanListSerializer
from core.api.serializers import AUDIT_FIELDS, TenantModelSerializer
from core.validators import format_icd10, normalize_icd10, validate_icd10

from .. import services
from ..models import (
    AIModel,
    Appointment,
    BiometricAlert,
    Diagnosis,
    DigitalTwin,
    HealthInsight,
    MedicalRecord,
    Patient,
    PredictionLog,
    Provider,
)
from ..models.records import clean_icd10_list


class ICD10CodeSerializerField(serializers.CharField):
    """Accepts ``G47.33``, ``g4733`` or ``G4733``; answers ``G47.33``."""

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        try:
            validate_icd10(value)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages) from error
        return normalize_icd10(value)

    def to_representation(self, value):
        return format_icd10(value) if value else value


class ICD10CodeListField(serializers.ListField):
    child = serializers.CharField()

    def to_internal_value(self, data):
        codes = super().to_internal_value(data)
        try:
            return clean_icd10_list(codes)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages) from error

    def to_representation(self, data):
        return [format_icd10(code) for code in data or []]


# Patients and providers ----------------------------------------------------------------


class ProviderSerializer(TenantModelSerializer):
    class Meta:
        model = Provider
        fields = [
            *AUDIT_FIELDS,
            "company",
            "first_name",
            "last_name",
            "npi",
            "credential",
            "specialty",
            "license_number",
            "license_state",
            "phone",
            "fax",
            "is_verified",
            "verified_at",
            "is_active",
            "user",
        ]
        # Verification is an action (POST /providers/{id}/verify/), never a field edit.
        read_only_fields = ["is_verified", "verified_at"]


class PatientSerializer(TenantModelSerializer):
    """A patient. ``confirm_duplicate`` (write-only) creates one even when another
    patient has the same last name and date of birth; without it that is a 409
    ``possible_duplicate`` listing the existing patient numbers."""

    confirm_duplicate = serializers.BooleanField(
        write_only=True,
        required=False,
        default=False,
        help_text="Create the patient even though a possible duplicate exists.",
    )

    class Meta:
        model = Patient
        fields = [
            *AUDIT_FIELDS,
            "company",
            "number",
            "first_name",
            "last_name",
            "dob",
            "sex",
            "phone",
            "email",
            "address_line1",
            "address_line2",
            "city",
            "state",
            "postal_code",
            "emergency_contact_name",
            "emergency_contact_phone",
            "emergency_contact_relationship",
            "ssn_last4",
            "home_location",
            "primary_prescriber",
            "status",
            "notes",
            "notification_channel",
            "notifications_opt_out",
            "confirm_duplicate",
        ]
        # A page's rows through the lean plan (core.api.lean: the same output).
        list_serializer_class = LeanListSerializer

    def validate(self, attrs):
        # Not a model field: kept away from the model validation of the base class.
        confirm = attrs.pop("confirm_duplicate", False)
        attrs = super().validate(attrs)
        attrs["confirm_duplicate"] = confirm
        return attrs

    def create(self, validated_data):
        confirm = validated_data.pop("confirm_duplicate", False)
        return services.register_patient(Patient(**validated_data), confirm_duplicate=confirm)

    def update(self, instance, validated_data):
        validated_data.pop("confirm_duplicate", None)
        for name, value in validated_data.items():
            setattr(instance, name, value)
        return services.update_patient(instance, validated_data)


class PatientSearchSerializer(serializers.Serializer):
    """The body of ``POST /patients/search/``: PHI search terms stay out of URLs.

    Every term given must match (AND)."""

    q = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="Anything the staff search takes: name prefix, P-number, "
        "date of birth, phone or e-mail.",
    )
    dob = serializers.DateField(required=False, help_text="Date of birth, exact.")
    phone = serializers.CharField(required=False, help_text="Phone, exact (any punctuation).")
    email = serializers.EmailField(required=False, help_text="E-mail, exact.")
    last_name = serializers.CharField(required=False, help_text="Last-name prefix.")
    first_name = serializers.CharField(required=False, help_text="First-name prefix.")

    def validate(self, attrs):
        if not any(value for value in attrs.values()):
            raise serializers.ValidationError("Give at least one search term.")
        return attrs

    def filter(self, queryset):
        data = self.validated_data
        if data.get("q"):
            queryset = queryset.search(data["q"])
        for field in ("dob", "phone", "email"):
            if data.get(field):
                queryset = queryset.filter_blind(field, data[field])
        if data.get("last_name"):
            queryset = queryset.filter(last_name__istartswith=data["last_name"].strip())
        if data.get("first_name"):
            queryset = queryset.filter(first_name__istartswith=data["first_name"].strip())
        return queryset


# Appointments ------------------------------------------------------------------------


class AppointmentSerializer(TenantModelSerializer):
    """Creating books through the service (no double booking: 409
    ``provider_double_booked``); status changes are actions (confirm, complete, cancel,
    no-show)."""

    class Meta:
        model = Appointment
        fields = [
            *AUDIT_FIELDS,
            "company",
            "patient",
            "provider",
            "location",
            "kind",
            "starts_at",
            "ends_at",
            "status",
            "is_virtual",
            "notes",
        ]

    def create(self, validated_data):
        return services.book_appointment(Appointment(**validated_data))

    def update(self, instance, validated_data):
        return services.update_appointment(instance, **validated_data)


# Records -----------------------------------------------------------------------------


class MedicalRecordSerializer(TenantModelSerializer):
    diagnosis_codes = ICD10CodeListField(
        required=False, help_text='ICD-10-CM codes, with or without dots: ["G47.33"].'
    )

    class Meta:
        model = MedicalRecord
        fields = [
            *AUDIT_FIELDS,
            "company",
            "patient",
            "provider",
            "record_type",
            "visit_date",
            "diagnosis_codes",
            "symptoms",
            "treatment",
            "medications",
            "results",
        ]


class DiagnosisSerializer(TenantModelSerializer):
    code = ICD10CodeSerializerField(
        max_length=8, help_text="ICD-10-CM code; G47.33 or G4733 in, G47.33 out."
    )

    class Meta:
        model = Diagnosis
        fields = [
            *AUDIT_FIELDS,
            "company",
            "patient",
            "code",
            "description",
            "onset_date",
            "is_active",
        ]


class BiometricAlertSerializer(TenantModelSerializer):
    """Posted by monitoring integrations (status open); staff acknowledge and resolve
    through the actions."""

    unit = serializers.CharField(read_only=True)

    class Meta:
        model = BiometricAlert
        fields = [
            *AUDIT_FIELDS,
            "company",
            "patient",
            "metric",
            "value",
            "threshold",
            "unit",
            "severity",
            "observed_at",
            "source",
            "status",
            "acknowledged_by",
            "acknowledged_at",
            "resolved_by",
            "resolved_at",
            "resolution_note",
        ]


class AlertResolveSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="")


# AI insights -------------------------------------------------------------------------


class AIModelSerializer(TenantModelSerializer):
    class Meta:
        model = AIModel
        fields = [
            *AUDIT_FIELDS,
            "company",
            "name",
            "version",
            "kind",
            "description",
            "accuracy",
            "is_active",
        ]


class PredictionLogSerializer(TenantModelSerializer):
    class Meta:
        model = PredictionLog
        fields = [
            *AUDIT_FIELDS,
            "company",
            "model",
            "patient",
            "input_data",
            "prediction",
            "confidence",
            "processing_ms",
        ]


class HealthInsightSerializer(TenantModelSerializer):
    class Meta:
        model = HealthInsight
        fields = [
            *AUDIT_FIELDS,
            "company",
            "patient",
            "model",
            "insight_type",
            "title",
            "description",
            "data",
            "confidence",
            "expires_at",
            "is_actionable",
            "action_taken",
            "action_taken_by",
            "action_taken_at",
        ]


class InsightActionSerializer(serializers.Serializer):
    action = serializers.CharField(help_text="What was done, e.g. 'Called patient; mask refit'.")


class DigitalTwinSerializer(TenantModelSerializer):
    class Meta:
        model = DigitalTwin
        fields = [
            *AUDIT_FIELDS,
            "company",
            "patient",
            "model",
            "symptom_forecast",
            "biometric_correlations",
            "medication_responses",
            "computed_at",
        ]
