"""Documents API serializers. Lean: related records are ids; bytes never appear in
JSON (downloads are their own endpoint)."""

from rest_framework import serializers

from clinical.models import Patient, Provider
from core.api.serializers import AUDIT_FIELDS, ScopedSerializer, TenantModelSerializer
from dme.models import Delivery, Order
from hme.models import Claim

from ..choices import AttachmentTransmission, DocumentKind
from ..models import Document, FaxIntake, LegalHold, SigningRequest


class DocumentSerializer(TenantModelSerializer):
    class Meta:
        model = Document
        fields = [
            *AUDIT_FIELDS,
            "company",
            "patient",
            "kind",
            "source",
            "order",
            "delivery",
            "claim",
            "prescriber",
            "received_at",
            "pages",
            "size",
            "content_type",
            "sha256",
            "description",
            "attachment_transmission",
            "attachment_control_number",
            "attachment_sent_at",
        ]
        read_only_fields = ["patient", "source", "received_at"]


class DocumentUploadSerializer(ScopedSerializer):
    """``multipart/form-data``: the file and what it is about."""

    file = serializers.FileField(help_text="PDF, TIFF, PNG or JPEG (by content), 25 MB at most.")
    patient = serializers.PrimaryKeyRelatedField(queryset=Patient.objects.all())
    kind = serializers.ChoiceField(choices=DocumentKind.choices)
    order = serializers.PrimaryKeyRelatedField(
        queryset=Order.objects.all(), required=False, allow_null=True
    )
    delivery = serializers.PrimaryKeyRelatedField(
        queryset=Delivery.objects.all(), required=False, allow_null=True
    )
    claim = serializers.PrimaryKeyRelatedField(
        queryset=Claim.objects.all(), required=False, allow_null=True
    )
    prescriber = serializers.PrimaryKeyRelatedField(
        queryset=Provider.objects.all(), required=False, allow_null=True
    )
    description = serializers.CharField(max_length=500, required=False, allow_blank=True)


class AttachmentSentSerializer(serializers.Serializer):
    transmission = serializers.ChoiceField(choices=AttachmentTransmission.choices)
    control_number = serializers.CharField(max_length=50, required=False, allow_blank=True)


class FaxIntakeSerializer(TenantModelSerializer):
    # Blank until OCR suggests a kind: the schema says so (schemathesis checks it).
    suggested_kind = serializers.ChoiceField(
        choices=DocumentKind.choices, allow_blank=True, read_only=True
    )

    class Meta:
        model = FaxIntake
        fields = [
            *AUDIT_FIELDS,
            "company",
            "origin",
            "status",
            "received_at",
            "pages",
            "size",
            "content_type",
            "suggested_patient",
            "suggested_prescriber",
            "suggested_kind",
            "suggestion_notes",
            "filed_pages",
            "ocr_error",
            "filed_at",
        ]
        read_only_fields = fields


class FaxIntakeDetailSerializer(FaxIntakeSerializer):
    class Meta(FaxIntakeSerializer.Meta):
        fields = [*FaxIntakeSerializer.Meta.fields, "ocr_text"]
        read_only_fields = fields


class FaxUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="PDF, TIFF, PNG or JPEG (by content), 25 MB at most.")


class FileIntakeSerializer(ScopedSerializer):
    patient = serializers.PrimaryKeyRelatedField(queryset=Patient.objects.all())
    kind = serializers.ChoiceField(choices=DocumentKind.choices)
    pages = serializers.CharField(
        required=False, allow_blank=True, help_text="As 1-3, 5; empty: every page."
    )
    prescriber = serializers.PrimaryKeyRelatedField(
        queryset=Provider.objects.all(), required=False, allow_null=True
    )
    order = serializers.PrimaryKeyRelatedField(
        queryset=Order.objects.all(), required=False, allow_null=True
    )


class SigningRequestSerializer(TenantModelSerializer):
    class Meta:
        model = SigningRequest
        fields = [
            *AUDIT_FIELDS,
            "company",
            "order",
            "prescriber",
            "status",
            "sent_at",
            "expires_at",
            "signed_at",
            "signer_name",
            "signer_ip",
            "content_sha256",
            "document",
        ]
        read_only_fields = fields


class SendSigningSerializer(ScopedSerializer):
    order = serializers.PrimaryKeyRelatedField(queryset=Order.objects.all())
    email = serializers.EmailField(help_text="The prescriber's address: the link goes there.")


class LegalHoldSerializer(TenantModelSerializer):
    class Meta:
        model = LegalHold
        fields = [
            *AUDIT_FIELDS,
            "company",
            "patient",
            "claim",
            "reason",
            "released_at",
            "released_by",
        ]
        read_only_fields = ["released_at", "released_by"]
