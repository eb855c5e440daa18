"""Billing API serializers. Claims carry their lines, payments their allocations (each
prefetched: no query per row). Money and statuses are read-only: they change through
the actions, which call ``hme.services``."""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from clinical.models.records import clean_icd10_list
from core.api.fields import HCPCSCodeField
from core.api.lean import LeanListSerializer
from core.api.serializers import (
    AUDIT_FIELDS,
    ModelSerializer,
    ScopedModelSerializer,
    ScopedSerializer,
    TenantModelSerializer,
)
from core.money import MONEY
from core.validators import format_icd10
from dme.models import Order, Rental

from ..choices import AdjustmentGroup, describe_carc
from ..models import (
    Adjustment,
    Authorization,
    Claim,
    ClaimLine,
    Coverage,
    EligibilityCheck,
    PatientPayment,
    PatientPaymentAllocation,
    Payer,
    Payment,
    PaymentAllocation,
    RemittanceClaim,
    RemittanceImport,
)
from ..models.claims import clean_pointers
from ..models.edi import BatchClaim, SubmissionBatch
from ..rules import clean_hcpcs_list, clean_modifiers


def _django_errors(call, *args):
    try:
        return call(*args)
    except DjangoValidationError as error:
        raise serializers.ValidationError(error.messages) from error


class ICD10ListField(serializers.ListField):
    """``["G47.33", "i10"]`` in (stored ``["G4733", "I10"]``), ``["G47.33", "I10"]`` out."""

    child = serializers.CharField()

    def to_internal_value(self, data):
        return _django_errors(clean_icd10_list, super().to_internal_value(data))

    def to_representation(self, data):
        return [format_icd10(code) for code in data or []]


class HCPCSListField(serializers.ListField):
    child = serializers.CharField()

    def to_internal_value(self, data):
        return _django_errors(clean_hcpcs_list, super().to_internal_value(data))


# Payers, coverage, authorizations ----------------------------------------------------------


class PayerSerializer(TenantModelSerializer):
    class Meta:
        model = Payer
        fields = [
            *AUDIT_FIELDS,
            "company",
            "name",
            "payer_id",
            "kind",
            "timely_filing_days",
            "address_line1",
            "address_line2",
            "city",
            "state",
            "postal_code",
            "phone",
            "is_active",
        ]


class CoverageSerializer(TenantModelSerializer):
    """A patient's policy. ``member_id`` (for Medicare the MBI, answered without
    dashes) is PHI: never put it in a URL; look coverages up by member ID with
    ``POST /coverages/lookup/``. Eligibility is verified with ``POST .../verify/``."""

    class Meta:
        model = Coverage
        fields = [
            *AUDIT_FIELDS,
            "company",
            "patient",
            "payer",
            "member_id",
            "group_number",
            "priority",
            "effective_date",
            "termination_date",
            "subscriber_relation",
            "is_active",
            "verified_at",
            "verified_by",
        ]
        read_only_fields = ["is_active", "verified_at", "verified_by"]


class CoverageLookupSerializer(serializers.Serializer):
    member_id = serializers.CharField(help_text="Member ID or MBI, exact (dashes ignored).")


class AuthorizationSerializer(TenantModelSerializer):
    """A prior authorization. Created as *requested*; the payer's decision is recorded
    with ``POST .../approve/`` (number, units, dates) or ``.../deny/``."""

    hcpcs_codes = HCPCSListField(help_text='The authorized items, as ["K0823"].')
    units_left = serializers.IntegerField(read_only=True)

    class Meta:
        model = Authorization
        fields = [
            *AUDIT_FIELDS,
            "company",
            "coverage",
            "hcpcs_codes",
            "number",
            "valid_from",
            "valid_to",
            "units_approved",
            "units_used",
            "units_left",
            "status",
            "decided_at",
            "notes",
        ]
        read_only_fields = ["units_used", "status", "decided_at"]


class AuthorizationApproveSerializer(serializers.Serializer):
    number = serializers.CharField(max_length=50)
    units_approved = serializers.IntegerField(min_value=1)
    valid_from = serializers.DateField()
    valid_to = serializers.DateField(
        required=False,
        allow_null=True,
        help_text="Default: the end of the item's window (power mobility 6 months...).",
    )


class AuthorizationDenySerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="")


# Claims ------------------------------------------------------------------------------------


class ClaimLineSerializer(ModelSerializer):
    """A service line. ``charge`` is for all units; ``diagnosis_pointers`` are
    positions (1 = first) in the claim's ``diagnosis_codes``."""

    hcpcs = HCPCSCodeField(help_text="As E0601.")
    modifiers = serializers.ListField(
        child=serializers.CharField(max_length=2), required=False, default=list
    )
    diagnosis_pointers = serializers.ListField(child=serializers.IntegerField())
    # In a PATCH, the id of an existing line of the claim: the corrected line goes on
    # billing what it billed. A line without one points at nothing and is refused.
    id = serializers.UUIDField(required=False)

    class Meta:
        model = ClaimLine
        fields = [
            "id",
            "line_number",
            "date_of_service",
            "hcpcs",
            "modifiers",
            "description",
            "units",
            "charge",
            "diagnosis_pointers",
            "allowed_amount",
            "paid_amount",
            "authorization",
            "order_line",
            "rental_month",
            "payer_sequence",
            "expected_amount",
            "expected_basis",
        ]
        read_only_fields = [
            "line_number",
            "allowed_amount",
            "paid_amount",
            "authorization",
            "order_line",
            "rental_month",
            "payer_sequence",
            "expected_amount",
            "expected_basis",
        ]

    def validate(self, attrs):
        attrs = super().validate(attrs)
        try:
            attrs["modifiers"] = clean_modifiers(attrs.get("hcpcs", ""), attrs.get("modifiers", []))
        except DjangoValidationError as error:
            raise serializers.ValidationError({"modifiers": error.messages}) from error
        try:
            attrs["diagnosis_pointers"] = clean_pointers(attrs.get("diagnosis_pointers"))
        except DjangoValidationError as error:
            raise serializers.ValidationError({"diagnosis_pointers": error.messages}) from error
        return attrs


class ClaimSerializer(TenantModelSerializer):
    """A claim with its lines. Creating one (with ``lines``) goes through
    ``create_claim``: number drawn, totals computed, prior authorization drawn for items
    that need it. A pending or denied claim is corrected with PATCH (``lines``, when
    given, replace all lines). Status and money change only through the actions."""

    lines = ClaimLineSerializer(many=True)
    diagnosis_codes = ICD10ListField(help_text='In claim order, as ["G47.33", "I10"].')
    patient_number = serializers.CharField(source="patient.number", read_only=True)
    # "" until a denial is posted: declared, since DRF drops allow_blank on read-only fields.
    denial_group = serializers.ChoiceField(
        choices=AdjustmentGroup.choices, allow_blank=True, read_only=True
    )
    denial = serializers.SerializerMethodField()

    class Meta:
        model = Claim
        fields = [
            *AUDIT_FIELDS,
            "company",
            "number",
            "patient",
            "patient_number",
            "coverage",
            "payer",
            "billing_location",
            "referring_provider",
            "diagnosis_codes",
            "status",
            "submitted_at",
            "submission_count",
            "acknowledged_at",
            "adjudicated_at",
            "paid_at",
            "voided_at",
            "total_charge",
            "allowed_amount",
            "paid_amount",
            "patient_responsibility",
            "denial_group",
            "denial_code",
            "denial_reason",
            "denial",
            "correction_note",
            "void_reason",
            "timely_filing_override_reason",
            "timely_filing_override_by",
            "timely_filing_override_at",
            "order",
            "rental",
            "rental_month",
            "replaces",
            "expected_amount",
            "underpaid_amount",
            "lines",
        ]
        # A page's rows through the lean plan (core.api.lean: the same output).
        list_serializer_class = LeanListSerializer
        read_only_fields = [
            name
            for name in fields
            if name
            not in (
                "patient",
                "coverage",
                "billing_location",
                "referring_provider",
                "diagnosis_codes",
                "lines",
            )
        ]

    def get_fields(self):
        fields = super().get_fields()
        if self.instance is not None:
            # The patient of a claim never changes; the coverage may be corrected.
            fields["patient"].read_only = True
        return fields

    def get_denial(self, obj) -> str:
        return describe_carc(obj.denial_group, obj.denial_code) if obj.denial_code else ""

    def validate(self, attrs):
        lines = attrs.pop("lines", None)
        attrs = super().validate(attrs)
        codes = attrs.get("diagnosis_codes")
        if codes is None and self.instance is not None:
            codes = self.instance.diagnosis_codes
        if lines is not None:
            if not lines:
                raise serializers.ValidationError({"lines": ["A claim needs at least one line."]})
            errors = [{} for _ in lines]
            for index, line in enumerate(lines):
                try:
                    clean_pointers(line["diagnosis_pointers"], codes or [])
                except DjangoValidationError as error:
                    errors[index] = {"diagnosis_pointers": error.messages}
            if any(errors):
                raise serializers.ValidationError({"lines": errors})
            attrs["lines"] = lines
        return attrs

    def update(self, instance, validated_data):
        from .. import services

        lines = validated_data.pop("lines", None)
        if lines is not None:
            existing = {line.pk: line for line in instance.lines.all()}
            kept = []
            for line in lines:
                line = dict(line)
                old = existing.get(line.pop("id", None))
                line["order_line"] = old.order_line if old else None
                line["rental_month"] = old.rental_month if old else None
                line["expected_amount"] = old.expected_amount if old else None
                line["expected_basis"] = old.expected_basis if old else ""
                kept.append(line)
            lines = kept
        return services.update_claim(instance, lines=lines, **validated_data)


class SubmitSerializer(serializers.Serializer):
    override_reason = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="To submit past the payer's timely filing limit (Billing role).",
    )


class LineAllowedSerializer(serializers.Serializer):
    line = serializers.IntegerField(min_value=1, help_text="The line number.")
    allowed = serializers.DecimalField(**MONEY, min_value=0)


class ApproveSerializer(serializers.Serializer):
    """Either the claim's allowed total (spread over the lines by charge) or each
    line's allowed amount."""

    allowed = serializers.DecimalField(**MONEY, min_value=0, required=False)
    lines = LineAllowedSerializer(many=True, required=False)

    def validate(self, attrs):
        if ("allowed" in attrs) == ("lines" in attrs):
            raise serializers.ValidationError("Give either 'allowed' or 'lines'.")
        return attrs

    def service_kwargs(self):
        data = self.validated_data
        if "allowed" in data:
            return {"allowed": data["allowed"]}
        return {"line_allowed": {item["line"]: item["allowed"] for item in data["lines"]}}


class DenySerializer(serializers.Serializer):
    group = serializers.ChoiceField(choices=AdjustmentGroup.choices)
    code = serializers.CharField(max_length=3, help_text="CARC, as 50 or B7.")
    text = serializers.CharField(required=False, allow_blank=True, default="")


class ResubmitSerializer(SubmitSerializer):
    correction_note = serializers.CharField(help_text="What was corrected.")


class VoidSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class ReplaceSerializer(serializers.Serializer):
    reason = serializers.CharField(help_text="What the replacement claim corrects.")


class FromRentalSerializer(ScopedSerializer):
    rental = serializers.PrimaryKeyRelatedField(
        queryset=Rental.objects.all(),
        help_text="A rental: its months recorded but unbilled, then every month due today.",
    )


class FromDeliverySerializer(ScopedSerializer):
    order = serializers.PrimaryKeyRelatedField(
        queryset=Order.objects.all(), help_text="A delivered order with purchased items."
    )


# Payments ----------------------------------------------------------------------------------


class AdjustmentSerializer(ModelSerializer):
    description = serializers.SerializerMethodField()

    class Meta:
        model = Adjustment
        fields = ["group", "code", "amount", "description"]

    def get_description(self, obj) -> str:
        return describe_carc(obj.group, obj.code)


class AllocationSerializer(ScopedModelSerializer):
    """One allocation; written through ``post_payment`` only."""

    adjustments = AdjustmentSerializer(many=True, required=False)

    class Meta:
        model = PaymentAllocation
        fields = ["id", "claim", "claim_line", "amount", "adjustments", "created_at"]
        read_only_fields = ["id", "created_at"]

    def to_service(self, data):
        return {
            "claim": data["claim"],
            "claim_line": data.get("claim_line"),
            "amount": data["amount"],
            "adjustments": [dict(item) for item in data.get("adjustments", [])],
        }


class AllocateSerializer(serializers.Serializer):
    allocations = AllocationSerializer(many=True)

    def service_allocations(self):
        child = self.fields["allocations"].child
        return [child.to_service(item) for item in self.validated_data["allocations"]]


class PaymentSerializer(TenantModelSerializer):
    """A payment (remittance). ``allocations`` given on create are posted with it, in
    one transaction (``post_payment``: never more than the payment, "Over-posting"
    otherwise); later ones with ``POST /payments/{id}/allocate/``."""

    allocations = AllocationSerializer(many=True, required=False)
    unallocated_amount = serializers.DecimalField(**MONEY, read_only=True)

    class Meta:
        model = Payment
        fields = [
            *AUDIT_FIELDS,
            "company",
            "payer",
            "method",
            "number",
            "paid_date",
            "amount",
            "allocated_amount",
            "unallocated_amount",
            "note",
            "allocations",
        ]
        read_only_fields = ["allocated_amount"]

    def get_fields(self):
        fields = super().get_fields()
        if self.instance is not None:
            fields["allocations"].read_only = True
            if getattr(self.instance, "allocated_amount", None):
                fields["payer"].read_only = True
        return fields

    def validate(self, attrs):
        allocations = attrs.pop("allocations", None)
        attrs = super().validate(attrs)
        if allocations is not None:
            attrs["allocations"] = allocations
        return attrs

    def create(self, validated_data):
        from .. import services

        child = self.fields["allocations"].child
        allocations = [child.to_service(item) for item in validated_data.pop("allocations", [])]
        return services.record_payment(allocations=allocations, **validated_data)


class PaymentSummarySerializer(ModelSerializer):
    """A payment in the list: its figures and how many allocations it has, never the
    allocations themselves (``GET /payments/{id}/`` gives them). A page is one query
    however many allocations its payments carry (issue 19: nesting them cost 460-530
    ms a page at 100k patients)."""

    allocation_count = serializers.IntegerField(
        read_only=True, help_text="How many allocations the payment has."
    )
    unallocated_amount = serializers.DecimalField(**MONEY, read_only=True)

    class Meta:
        model = Payment
        # The payment's own fields, as the detail gives them, with a count for the list.
        fields = [
            *(name for name in PaymentSerializer.Meta.fields if name != "allocations"),
            "allocation_count",
        ]
        read_only_fields = fields


# EDI: 837P batches (docs/domain/edi.md) ---------------------------------------------------


class BatchClaimSerializer(ModelSerializer):
    claim_number = serializers.CharField(source="claim.number", read_only=True)

    class Meta:
        model = BatchClaim
        fields = [
            "claim",
            "claim_number",
            "frequency",
            "status",
            "status_codes",
            "reason",
            "payer_claim_number",
            "acknowledged_at",
        ]
        read_only_fields = fields


class SubmissionBatchSerializer(TenantModelSerializer):
    items = BatchClaimSerializer(many=True, read_only=True)

    class Meta:
        model = SubmissionBatch
        fields = [
            "id",
            "number",
            "payer",
            "status",
            "claim_count",
            "total_charge",
            "interchange_control_number",
            "group_control_number",
            "transaction_control_number",
            "usage_indicator",
            "file_name",
            "file_sha256",
            "file_size",
            "built_at",
            "build_count",
            "sent_at",
            "acknowledged_at",
            "rejection_reason",
            "send_error",
            "items",
            "created_at",
        ]
        read_only_fields = fields


class SubmissionBatchCreateSerializer(ScopedSerializer):
    claims = serializers.PrimaryKeyRelatedField(
        queryset=Claim.objects.all(),
        many=True,
        allow_empty=False,
        help_text="Pending claims of one payer (at most 5000).",
    )


# Ready to bill (hme.readiness) -----------------------------------------------------


class ReadinessReasonSerializer(serializers.Serializer):
    """One reason, and the record/field to fix (model label, id, field name)."""

    code = serializers.CharField()
    message = serializers.CharField()
    severity = serializers.CharField(help_text='"error" (holds billing) or "warning".')
    model = serializers.CharField(allow_blank=True)
    pk = serializers.CharField(allow_blank=True)
    field = serializers.CharField(allow_blank=True)


class LineReadinessSerializer(serializers.Serializer):
    line = serializers.UUIDField()
    hcpcs = serializers.CharField()
    status = serializers.CharField(help_text='"ready" or "on_hold".')
    reasons = ReadinessReasonSerializer(many=True)


class OrderReadinessSerializer(serializers.Serializer):
    """``GET /orders/{id}/readiness/``: per line, the reasons it cannot be billed yet
    (errors hold billing, warnings do not); the same function feeds the admin panels,
    the worklist and billing's hold."""

    def get_fields(self):
        # "errors" is the serializer's own attribute: declared here, not as a class field.
        return {
            "order": serializers.UUIDField(),
            "number": serializers.CharField(),
            "status": serializers.CharField(help_text='"ready" or "on_hold".'),
            "errors": serializers.IntegerField(help_text="Reasons that hold billing."),
            "warnings": serializers.IntegerField(help_text="Reasons that do not."),
            "lines": LineReadinessSerializer(many=True),
        }

    def to_representation(self, order):
        from dme.models import OrderLine

        from ..readiness import order_reasons, summarize

        by_line = order_reasons([order])[order.pk]
        hcpcs = dict(
            OrderLine.objects.filter(pk__in=list(by_line)).values_list(
                "pk", "equipment__hcpcs_code"
            )
        )
        everything = [reason for reasons in by_line.values() for reason in reasons]
        summary = summarize(everything)
        return {
            "order": str(order.pk),
            "number": order.number,
            "status": summary["status"],
            "errors": summary["errors"],
            "warnings": summary["warnings"],
            "lines": [
                {
                    "line": str(line_id),
                    "hcpcs": hcpcs.get(line_id, ""),
                    "status": summarize(reasons)["status"],
                    "reasons": [reason.as_dict() for reason in reasons],
                }
                for line_id, reasons in by_line.items()
            ],
        }


# Money in: 835 remittances, the unmatched worklist, eligibility checks ---------------------


class EligibilityCheckSerializer(TenantModelSerializer):
    class Meta:
        model = EligibilityCheck
        fields = [
            "id",
            "coverage",
            "status",
            "control_number",
            "plan_begin",
            "plan_end",
            "deductible_remaining",
            "coinsurance_percent",
            "rejection_reasons",
            "answered_at",
            "checked_by",
            "created_at",
        ]
        read_only_fields = fields


class RemittanceImportSerializer(TenantModelSerializer):
    class Meta:
        model = RemittanceImport
        fields = [
            "id",
            "payer",
            "payment",
            "trace_number",
            "source",
            "file_name",
            "bpr_amount",
            "paid_date",
            "claims_count",
            "posted_amount",
            "reversed_amount",
            "unmatched_amount",
            "provider_adjustment_amount",
            "created_at",
        ]
        read_only_fields = fields


class RemittanceUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="An 835 file (005010X221A1).")


class RemittanceClaimSerializer(TenantModelSerializer):
    class Meta:
        model = RemittanceClaim
        fields = [
            "id",
            "remittance",
            "claim",
            "kind",
            "payer_claim_number",
            "payer_control_number",
            "status_code",
            "charge",
            "paid",
            "patient_responsibility",
            "details",
            "assigned_at",
            "assigned_by",
            "created_at",
        ]
        read_only_fields = fields


class AssignRemittanceSerializer(ScopedSerializer):
    claim = serializers.PrimaryKeyRelatedField(
        queryset=Claim.objects.all(), help_text="The claim this claim payment pays."
    )


# Patient payments (docs/domain/remittance.md) ---------------------------------------------


class PatientPaymentAllocationSerializer(ScopedModelSerializer):
    claim_number = serializers.CharField(source="claim.number", read_only=True)

    class Meta:
        model = PatientPaymentAllocation
        fields = ["claim", "claim_number", "claim_line", "amount"]
        read_only_fields = fields


class PatientPaymentSerializer(TenantModelSerializer):
    """A patient's payment toward their share, applied by ``record_patient_payment``
    to their open patient-share lines (oldest first; only ``claim``'s when given).
    More than the patient owes is a 400 ``over_payment`` (no credit is kept)."""

    claim = serializers.PrimaryKeyRelatedField(
        queryset=Claim.objects.all(),
        required=False,
        allow_null=True,
        write_only=True,
        help_text="Apply to this claim's patient share only.",
    )
    allocations = PatientPaymentAllocationSerializer(many=True, read_only=True)
    received_at = serializers.DateTimeField(
        required=False, help_text="When the money was received (default: now)."
    )

    class Meta:
        model = PatientPayment
        fields = [
            *AUDIT_FIELDS,
            "company",
            "patient",
            "method",
            "reference",
            "amount",
            "received_at",
            "received_by",
            "claim",
            "allocations",
        ]
        read_only_fields = ["received_by"]

    def validate(self, attrs):
        claim = attrs.pop("claim", None)
        if attrs.get("received_at") is None:
            from django.utils import timezone

            attrs["received_at"] = timezone.now()
        attrs = super().validate(attrs)
        attrs["claim"] = claim
        return attrs

    def create(self, validated_data):
        from .. import services

        request = self.context.get("request")
        return services.record_patient_payment(
            patient=validated_data["patient"],
            amount=validated_data["amount"],
            method=validated_data["method"],
            reference=validated_data.get("reference", ""),
            received_at=validated_data["received_at"],
            user=getattr(request, "user", None),
            claim=validated_data.get("claim"),
        )
