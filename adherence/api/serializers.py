from rest_framework import serializers

from core.api.serializers import AUDIT_FIELDS, TenantModelSerializer

from ..choices import UsageSource
from ..importing import MAX_BYTES
from ..models import AdherenceStatus, UsageImport, UsageNight


class UsageUploadSerializer(serializers.Serializer):
    file = serializers.FileField(
        help_text=f"CSV export, one row a night; {MAX_BYTES // 1024} KB at most."
    )
    serial = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=64,
        help_text="The device's serial number, when the file does not name the device.",
    )
    patient = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=20,
        help_text="The patient number (P-...), when the file names neither.",
    )
    export_source = serializers.ChoiceField(
        choices=UsageSource.choices, required=False, allow_blank=True
    )

    def validate_file(self, upload):
        if upload.size > MAX_BYTES:
            raise serializers.ValidationError(f"The file is larger than {MAX_BYTES // 1024} KB.")
        return upload


class UsageImportSerializer(TenantModelSerializer):
    adherence_state = serializers.CharField(
        source="rental.adherence.state", read_only=True, allow_null=True
    )

    class Meta:
        model = UsageImport
        fields = [
            *AUDIT_FIELDS,
            "company",
            "rental",
            "source",
            "rows",
            "created_count",
            "updated_count",
            "unchanged_count",
            "first_night",
            "last_night",
            "adherence_state",
        ]
        read_only_fields = fields


class UsageNightSerializer(TenantModelSerializer):
    class Meta:
        model = UsageNight
        fields = [
            *AUDIT_FIELDS,
            "company",
            "rental",
            "patient",
            "night",
            "hours",
            "ahi",
            "leak",
            "source",
        ]
        read_only_fields = fields


class AdherenceStatusSerializer(TenantModelSerializer):
    class Meta:
        model = AdherenceStatus
        fields = [
            *AUDIT_FIELDS,
            "company",
            "rental",
            "patient",
            "state",
            "period_start",
            "period_end",
            "known_through",
            "nights_recorded",
            "best_window_start",
            "best_window_nights",
            "met_on",
            "trailing_nights",
            "trailing_days",
            "days_remaining",
            "evaluated_at",
            "alert",
            "prediction",
        ]
        read_only_fields = fields
