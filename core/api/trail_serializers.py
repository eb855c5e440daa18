"""Request and response bodies of the trail endpoints (emergency access, access report)."""

from typing import Any

from rest_framework import serializers

from core.emergency import MIN_REASON
from core.models import EmergencyAccess


class EmergencyAccessRequestSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(
        min_length=MIN_REASON,
        max_length=500,
        help_text="Why you need this patient's records at every location (kept on the grant).",
    )


class EmergencyAccessSerializer(serializers.ModelSerializer[EmergencyAccess]):
    class Meta:
        model = EmergencyAccess
        fields = ["id", "patient_id", "granted_at", "expires_at"]
        read_only_fields = fields


class AccessReportQuerySerializer(serializers.Serializer[Any]):
    # ``format`` is taken by DRF's content negotiation (?format=json): ``as`` it is.
    # Declared through a dict: ``as`` is a Python keyword.
    locals()["as"] = serializers.ChoiceField(
        choices=["csv", "pdf"], default="csv", help_text="csv or pdf."
    )
