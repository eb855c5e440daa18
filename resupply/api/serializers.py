"""Resupply API serializers: lean, related records as ids; the request lists its
items (prefetched once per page)."""

from rest_framework import serializers

from core.api.serializers import AUDIT_FIELDS, ScopedSerializer, TenantModelSerializer

from ..choices import ContactChannel, ContactOutcome
from ..models import ReplacementRule, ResupplyContact, ResupplyItem, ResupplyRequest


class ReplacementRuleSerializer(serializers.ModelSerializer):
    class Meta:
        model = ReplacementRule
        fields = [
            "id",
            "company",
            "payer",
            "hcpcs_code",
            "description",
            "quantity",
            "months",
            "source",
            "is_active",
        ]
        read_only_fields = fields


class ResupplyItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = ResupplyItem
        fields = [
            "id",
            "hcpcs_code",
            "equipment",
            "last_delivered_on",
            "last_quantity",
            "quantity",
            "months",
            "supply_ends_on",
        ]
        read_only_fields = fields


class ResupplyRequestSerializer(TenantModelSerializer):
    items = ResupplyItemSerializer(many=True, read_only=True)

    class Meta:
        model = ResupplyRequest
        fields = [
            *AUDIT_FIELDS,
            "company",
            "patient",
            "status",
            "due_on",
            "contact_from",
            "ship_from",
            "attempts",
            "last_contact_at",
            "outreach_sent_at",
            "order",
            "items",
        ]
        read_only_fields = fields


class ContactItemInputSerializer(serializers.Serializer):
    item = serializers.UUIDField(help_text="A resupply item of this request.")
    on_hand = serializers.IntegerField(
        min_value=0, default=0, help_text="What the patient still has."
    )
    wanted = serializers.BooleanField(default=True)
    quantity = serializers.IntegerField(
        min_value=0, default=0, help_text="0: the usual maximum less what is on hand."
    )


class RecordContactSerializer(ScopedSerializer):
    channel = serializers.ChoiceField(choices=ContactChannel.choices)
    outcome = serializers.ChoiceField(choices=ContactOutcome.choices)
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    items = ContactItemInputSerializer(many=True, required=False)


class ResupplyContactSerializer(serializers.ModelSerializer):
    class Meta:
        model = ResupplyContact
        fields = ["id", "request", "contacted_at", "contacted_by", "channel", "outcome"]
        read_only_fields = fields
