"""Billing API: scoped, access-logged viewsets. Every status change and every payment
posting is an action (or a create) that calls ``hme.services``; those that move money
or a claim honour ``Idempotency-Key``."""

from django.conf import settings
from django.db.models import Count, IntegerField, OuterRef, Prefetch, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import StreamingHttpResponse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import MethodNotAllowed
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from core.access import record_access
from core.api.idempotency import idempotent
from core.api.lean import related_only
from core.api.pagination import CursorPagination
from core.api.permissions import ActionPermission, RoleModelPermissions
from core.api.views import (
    ProtectedDeleteMixin,
    TenantCreateMixin,
    TenantModelViewSet,
    TenantNoDeleteViewSet,
    TenantReadOnlyViewSet,
    TenantViewSetMixin,
)
from core.choices import AccessAction, AccessVia
from core.db_router import ReplicaReadMixin
from core.exceptions import ServiceError
from dme.models import Order

from .. import services
from ..models import (
    Adjustment,
    Authorization,
    Claim,
    Coverage,
    PatientPayment,
    Payer,
    Payment,
    PaymentAllocation,
    RemittanceClaim,
    RemittanceImport,
    SubmissionBatch,
)
from ..services import submission
from . import filters, serializers


class PayerViewSet(ProtectedDeleteMixin, TenantModelViewSet):
    """Payers. One in use (policies, claims, payments) cannot be deleted: deactivate it."""

    queryset = Payer.objects.all()
    serializer_class = serializers.PayerSerializer
    filterset_class = filters.PayerFilter
    search_fields = ["^name", "=payer_id"]
    ordering_fields = ["name", "kind", "created_at"]
    protected_message = "This payer has policies, claims or payments: deactivate it instead."


class LookupPermission(RoleModelPermissions):
    """``POST /coverages/lookup/`` only reads: it needs the view permission."""

    perms_map = {**RoleModelPermissions.perms_map, "POST": ["%(app_label)s.view_%(model_name)s"]}


class CoverageViewSet(ProtectedDeleteMixin, TenantModelViewSet):
    """Patients' policies. ``POST /coverages/{id}/verify/`` records an eligibility check
    (who, when); ``POST /coverages/lookup/`` finds policies by member ID or MBI (in the
    body, never the URL)."""

    queryset = Coverage.objects.select_related("patient", "payer")
    serializer_class = serializers.CoverageSerializer
    filterset_class = filters.CoverageFilter
    ordering_fields = ["effective_date", "created_at"]
    permission_classes = [ActionPermission]
    action_permissions = {
        "verify": ["hme.change_coverage"],
        "check_eligibility": ["hme.change_coverage"],
    }
    protected_message = "Claims were billed to this coverage: end it with a termination date."

    def get_permissions(self):
        if self.action == "lookup":
            return [LookupPermission()]
        return super().get_permissions()

    @extend_schema(request=None, responses=serializers.CoverageSerializer)
    @action(detail=True, methods=["post"])
    def verify(self, request, pk=None):
        coverage = services.verify_coverage(self.get_object(), request.user)
        return Response(self.get_serializer(coverage).data)

    @extend_schema(request=None, responses={202: serializers.EligibilityCheckSerializer})
    @action(detail=True, methods=["post"], url_path="check-eligibility")
    def check_eligibility(self, request, pk=None):
        """Send the coverage's 270 through the clearinghouse; the 271 answers later
        (the check's status goes from ``sent`` to active, inactive or rejected)."""
        from ..services.eligibility import request_eligibility

        check = request_eligibility(self.get_object(), request.user)
        return Response(
            serializers.EligibilityCheckSerializer(check).data, status=status.HTTP_202_ACCEPTED
        )

    @extend_schema(
        request=serializers.CoverageLookupSerializer,
        responses=serializers.CoverageSerializer(many=True),
    )
    @action(detail=False, methods=["post"])
    def lookup(self, request):
        body = serializers.CoverageLookupSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        queryset = self.filter_queryset(self.get_queryset()).filter_blind(
            "member_id", body.validated_data["member_id"]
        )
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


class AuthorizationViewSet(ProtectedDeleteMixin, TenantModelViewSet):
    """Prior authorizations. The payer's decision: ``POST .../approve/`` (number,
    units, dates; the end defaults to the item's window) or ``.../deny/``."""

    queryset = Authorization.objects.select_related("coverage")
    serializer_class = serializers.AuthorizationSerializer
    filterset_class = filters.AuthorizationFilter
    ordering_fields = ["valid_to", "created_at"]
    permission_classes = [ActionPermission]
    action_permissions = {
        "approve": ["hme.change_authorization"],
        "deny": ["hme.change_authorization"],
    }
    protected_message = "Claims were billed under this authorization: it is kept."

    @extend_schema(
        request=serializers.AuthorizationApproveSerializer,
        responses=serializers.AuthorizationSerializer,
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def approve(self, request, pk=None):
        body = serializers.AuthorizationApproveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        authorization = services.approve_authorization(self.get_object(), **body.validated_data)
        return Response(self.get_serializer(authorization).data)

    @extend_schema(
        request=serializers.AuthorizationDenySerializer,
        responses=serializers.AuthorizationSerializer,
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def deny(self, request, pk=None):
        body = serializers.AuthorizationDenySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        authorization = services.deny_authorization(self.get_object(), **body.validated_data)
        return Response(self.get_serializer(authorization).data)


CLAIM_ACTIONS = (
    "submit",
    "mark_processing",
    "approve",
    "deny",
    "resubmit",
    "void",
    "replace",
    "from_delivery",
    "from_rental",
)


class ClaimViewSet(TenantNoDeleteViewSet):
    """Claims with their lines, newest first (cursor pagination). Workflow:
    ``submit`` (sent; stays pending), ``mark-processing`` (payer acknowledged),
    ``approve`` (allowed amounts) or ``deny`` (CARC group and code), ``resubmit`` (a
    corrected denied claim, with a note), ``void``. ``POST /claims/from-delivery/``
    bills a delivered order's purchases. Every action takes ``Idempotency-Key``."""

    queryset = Claim.objects.select_related("patient").prefetch_related("lines")
    serializer_class = serializers.ClaimSerializer
    filterset_class = filters.ClaimFilter
    pagination_class = CursorPagination
    # The cursor walks (created_at, id): no client-chosen ordering, no free-text search.
    filter_backends = [DjangoFilterBackend]
    permission_classes = [ActionPermission]
    action_permissions = {name: ["hme.change_claim"] for name in CLAIM_ACTIONS}
    action_permissions["from_delivery"] = ["hme.add_claim"]
    action_permissions["from_rental"] = ["hme.add_claim"]
    action_permissions["replace"] = ["hme.add_claim"]

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action == "list":
            # The page shows the patient's number only.
            return related_only(queryset, "patient", "number")
        return queryset

    @extend_schema(exclude=True)  # 405: not an operation of the API
    def create(self, request, *args, **kwargs):
        """Claims are not typed: they come from ``from-delivery``, ``from-rental``, the
        rental run, or ``replace`` of an existing claim."""
        raise MethodNotAllowed(
            "POST",
            detail="Claims are not entered by hand: bill a delivery "
            "(POST /claims/from-delivery/) or a rental (POST /claims/from-rental/), or "
            "replace an existing claim (POST /claims/{id}/replace/).",
        )

    def _respond(self, claim, *, created=False):
        claim = self.get_queryset().get(pk=claim.pk)
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(self.get_serializer(claim).data, status=code)

    def _body(self, serializer_class):
        body = serializer_class(data=self.request.data)
        body.is_valid(raise_exception=True)
        return body

    @extend_schema(request=serializers.SubmitSerializer, responses=serializers.ClaimSerializer)
    @action(detail=True, methods=["post"])
    @idempotent
    def submit(self, request, pk=None):
        """Send to the payer. Past the payer's timely filing limit: 400 ``timely_filing``
        unless ``override_reason`` is given by a Billing user or an Administrator."""
        reason = self._body(serializers.SubmitSerializer).validated_data["override_reason"]
        claim = services.submit_claim(self.get_object(), request.user, reason or None)
        return self._respond(claim)

    @extend_schema(request=None, responses=serializers.ClaimSerializer)
    @action(detail=True, methods=["post"], url_path="mark-processing")
    @idempotent
    def mark_processing(self, request, pk=None):
        return self._respond(services.mark_processing(self.get_object()))

    @extend_schema(request=serializers.ApproveSerializer, responses=serializers.ClaimSerializer)
    @action(detail=True, methods=["post"])
    @idempotent
    def approve(self, request, pk=None):
        body = self._body(serializers.ApproveSerializer)
        return self._respond(services.approve_claim(self.get_object(), **body.service_kwargs()))

    @extend_schema(request=serializers.DenySerializer, responses=serializers.ClaimSerializer)
    @action(detail=True, methods=["post"])
    @idempotent
    def deny(self, request, pk=None):
        data = self._body(serializers.DenySerializer).validated_data
        claim = services.deny_claim(self.get_object(), data["group"], data["code"], data["text"])
        return self._respond(claim)

    @extend_schema(request=serializers.ResubmitSerializer, responses=serializers.ClaimSerializer)
    @action(detail=True, methods=["post"])
    @idempotent
    def resubmit(self, request, pk=None):
        data = self._body(serializers.ResubmitSerializer).validated_data
        claim = services.resubmit_claim(
            self.get_object(),
            data["correction_note"],
            request.user,
            override_reason=data["override_reason"] or None,
        )
        return self._respond(claim)

    @extend_schema(request=serializers.VoidSerializer, responses=serializers.ClaimSerializer)
    @action(detail=True, methods=["post"])
    @idempotent
    def void(self, request, pk=None):
        reason = self._body(serializers.VoidSerializer).validated_data["reason"]
        return self._respond(services.void_claim(self.get_object(), reason))

    @extend_schema(
        request=serializers.ReplaceSerializer, responses={201: serializers.ClaimSerializer}
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def replace(self, request, pk=None):
        """A corrected/replacement claim: the claim is voided and a new pending one with
        the same lines (each still billing its item) replaces it (``replace_claim``)."""
        reason = self._body(serializers.ReplaceSerializer).validated_data["reason"]
        claim = services.replace_claim(self.get_object(), reason)
        return self._respond(claim, created=True)

    @extend_schema(
        request=serializers.FromRentalSerializer,
        responses={201: serializers.ClaimSerializer(many=True)},
    )
    @action(detail=False, methods=["post"], url_path="from-rental")
    @idempotent
    def from_rental(self, request):
        """Bill a rental's months due (``bill_rental``): 409 ``already_billed`` when
        nothing is left to bill."""
        body = serializers.FromRentalSerializer(data=request.data, context={"request": request})
        body.is_valid(raise_exception=True)
        claims = services.bill_rental(body.validated_data["rental"])
        queryset = self.get_queryset().filter(pk__in=[claim.pk for claim in claims])
        data = self.get_serializer(queryset.order_by("created_at", "id"), many=True).data
        return Response(data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=serializers.FromDeliverySerializer, responses={201: serializers.ClaimSerializer}
    )
    @action(detail=False, methods=["post"], url_path="from-delivery")
    @idempotent
    def from_delivery(self, request):
        """Bill a delivered order's purchases (``create_claim_for_delivery``)."""
        body = serializers.FromDeliverySerializer(data=request.data, context={"request": request})
        body.is_valid(raise_exception=True)
        claim = services.create_claim_for_delivery(body.validated_data["order"])
        return self._respond(claim, created=True)


def allocation_count():
    """A payment's allocations counted by a correlated subquery: evaluated for the
    page's rows only, where a ``Count`` join would group every payment before the
    cursor's LIMIT."""
    counted = (
        PaymentAllocation.objects.filter(payment=OuterRef("pk"))
        .order_by()
        .values("payment")
        .annotate(count=Count("*"))
        .values("count")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


class PaymentViewSet(ReplicaReadMixin, TenantNoDeleteViewSet):
    """Payments (remittances), newest first (cursor pagination). The list gives a
    summary per payment (``allocation_count``, no allocations); ``GET /payments/{id}/``
    gives the allocations and their adjustments. ``POST /payments/`` with
    ``allocations`` records and posts in one transaction; ``POST
    /payments/{id}/allocate/`` posts more. Over-posting is a 400 ``over_posting`` that
    writes nothing. Both take ``Idempotency-Key``."""

    queryset = Payment.objects.all()
    serializer_class = serializers.PaymentSerializer
    filterset_class = filters.PaymentFilter
    pagination_class = CursorPagination
    filter_backends = [DjangoFilterBackend]
    permission_classes = [ActionPermission]
    action_permissions = {"allocate": ["hme.add_paymentallocation"]}

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action == "list":
            return queryset.annotate(allocation_count=allocation_count())
        # Explicit orderings: the models' own (``payment``, ``allocation``) follow the
        # foreign keys and made the prefetch join back to the parents just to sort.
        adjustments = Adjustment.objects.order_by("group", "code", "id")
        allocations = PaymentAllocation.objects.order_by("created_at", "id").prefetch_related(
            Prefetch("adjustments", queryset=adjustments)
        )
        return queryset.prefetch_related(Prefetch("allocations", queryset=allocations))

    def get_serializer_class(self):
        if self.action == "list":
            return serializers.PaymentSummarySerializer
        return super().get_serializer_class()

    def retrieve(self, request, *args, **kwargs):
        payment = self.get_object()
        # Allocations name claims (patient-linked): their view is logged. The list shows
        # no allocation, so it logs none.
        record_access(
            request, list(payment.allocations.all()), via=AccessVia.API, action=AccessAction.VIEW
        )
        return Response(self.get_serializer(payment).data)

    @extend_schema(request=serializers.AllocateSerializer, responses=serializers.PaymentSerializer)
    @action(detail=True, methods=["post"])
    @idempotent
    def allocate(self, request, pk=None):
        body = serializers.AllocateSerializer(data=request.data, context={"request": request})
        body.is_valid(raise_exception=True)
        payment = services.post_payment(self.get_object(), body.service_allocations())
        payment = self.get_queryset().get(pk=payment.pk)
        return Response(self.get_serializer(payment).data)


# EDI: 837P batches (docs/domain/edi.md) ---------------------------------------------------


class SubmissionBatchViewSet(TenantReadOnlyViewSet):
    """837P batches, newest first. ``POST /edi-batches/`` with ``claims`` builds one
    payer's batch (refused with every reason: 400 ``not_batchable``); ``.../rebuild/``
    builds it again before it is sent; ``.../send/`` sends it now (else the periodic
    job does); ``GET .../download/`` streams the 837P (each download access-logged)."""

    queryset = SubmissionBatch.objects.select_related("payer").prefetch_related("items__claim")
    serializer_class = serializers.SubmissionBatchSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_fields = ["status", "payer"]
    permission_classes = [ActionPermission]
    action_permissions = {
        "create": ["hme.add_submissionbatch"],
        "rebuild": ["hme.change_submissionbatch"],
        "send": ["hme.change_submissionbatch"],
    }

    def _respond(self, batch, code=status.HTTP_200_OK):
        return Response(self.get_serializer(self.get_queryset().get(pk=batch.pk)).data, status=code)

    @extend_schema(
        request=serializers.SubmissionBatchCreateSerializer,
        responses={201: serializers.SubmissionBatchSerializer},
    )
    @idempotent
    def create(self, request):
        body = serializers.SubmissionBatchCreateSerializer(
            data=request.data, context={"request": request}
        )
        body.is_valid(raise_exception=True)
        batch = submission.create_batch(
            self.get_active_company(), body.validated_data["claims"], user=request.user
        )
        return self._respond(batch, status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=serializers.SubmissionBatchSerializer)
    @action(detail=True, methods=["post"])
    @idempotent
    def rebuild(self, request, pk=None):
        return self._respond(submission.rebuild_batch(self.get_object(), user=request.user))

    @extend_schema(request=None, responses=serializers.SubmissionBatchSerializer)
    @action(detail=True, methods=["post"])
    @idempotent
    def send(self, request, pk=None):
        return self._respond(submission.send_batch(self.get_object(), user=request.user))

    @extend_schema(responses={(200, "application/edi-x12"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        batch = self.get_object()
        body = submission.batch_file(batch)
        claims = list(Claim.objects.filter(edi_items__batch=batch))
        record_access(
            request, claims, via=AccessVia.API, action=AccessAction.EXPORT, fields=["837P file"]
        )
        response = StreamingHttpResponse(body, content_type="application/edi-x12")
        response["Content-Disposition"] = f'attachment; filename="{batch.file_name}"'
        response["Cache-Control"] = "no-store"
        return response


# Ready to bill -----------------------------------------------------------------------


class OrderReadinessViewSet(TenantReadOnlyViewSet):
    """``GET /orders/{id}/readiness/``: why the order's lines cannot be billed yet.
    Served by the billing app (dme cannot import it); scoped like the orders API
    (another company's order is a 404) and access-logged."""

    queryset = Order.objects.all()
    serializer_class = serializers.OrderReadinessSerializer
    pagination_class = None

    @extend_schema(
        operation_id="orders_readiness_retrieve", responses=serializers.OrderReadinessSerializer
    )
    def retrieve(self, request, *args, **kwargs):
        return super().retrieve(request, *args, **kwargs)


class RemittanceViewSet(TenantReadOnlyViewSet):
    """Imported 835 remittances, newest first. ``POST /remittances/upload/`` imports an
    835 file (multipart ``file``): 201 with the imports; invalid X12 is a 400
    ``x12_invalid`` naming the segment and position; the same file again a 409
    ``already_imported``; a file that does not reconcile a 400 ``remittance_unbalanced``.
    Nothing is posted on any refusal."""

    queryset = RemittanceImport.objects.select_related("payer")
    serializer_class = serializers.RemittanceImportSerializer
    pagination_class = CursorPagination
    filter_backends = [DjangoFilterBackend]
    permission_classes = [ActionPermission]
    action_permissions = {"upload": ["hme.add_remittanceimport"]}

    @extend_schema(
        request={"multipart/form-data": serializers.RemittanceUploadSerializer},
        responses={201: serializers.RemittanceImportSerializer(many=True)},
    )
    @action(detail=False, methods=["post"], parser_classes=[MultiPartParser])
    @idempotent
    def upload(self, request):
        from ..services.remittance import import_835

        body = serializers.RemittanceUploadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        upload = body.validated_data["file"]
        if upload.size > settings.EDI_MAX_INBOUND_BYTES:
            raise ServiceError("The file is larger than EDI_MAX_INBOUND_BYTES.", code="too_large")
        summary = import_835(self.get_active_company(), upload.read(), file_name=upload.name or "")
        data = self.get_serializer(summary.remittances, many=True).data
        return Response(data, status=status.HTTP_201_CREATED)


class UnmatchedRemittanceViewSet(TenantReadOnlyViewSet):
    """835 claim payments waiting for a clerk: ``POST .../{id}/assign/`` with the
    ``claim`` posts it to that claim (same payer)."""

    queryset = RemittanceClaim.objects.unmatched().select_related("remittance")
    serializer_class = serializers.RemittanceClaimSerializer
    pagination_class = CursorPagination
    filter_backends = [DjangoFilterBackend]
    permission_classes = [ActionPermission]
    action_permissions = {"assign": ["hme.change_remittanceclaim"]}

    @extend_schema(
        request=serializers.AssignRemittanceSerializer,
        responses=serializers.RemittanceClaimSerializer,
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def assign(self, request, pk=None):
        from ..services.remittance import assign_unmatched

        row = self.get_object()
        body = serializers.AssignRemittanceSerializer(
            data=request.data, context={"request": request}
        )
        body.is_valid(raise_exception=True)
        row = assign_unmatched(row, body.validated_data["claim"], request.user)
        return Response(self.get_serializer(row).data)


# Patient payments (docs/domain/remittance.md) ---------------------------------------------


class PatientPaymentViewSet(
    TenantViewSetMixin,
    TenantCreateMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Patients' payments toward their share, newest first (cursor pagination; filter
    by ``patient``, ``method``). ``POST /patient-payments/`` records one and applies it
    to the patient's open patient-share lines (``record_patient_payment``): more than
    the patient owes is a 400 ``over_payment`` that records nothing. Takes
    ``Idempotency-Key``. No update, no delete: a payment is history."""

    queryset = PatientPayment.objects.select_related("patient", "received_by").prefetch_related(
        "allocations__claim"
    )
    serializer_class = serializers.PatientPaymentSerializer
    pagination_class = CursorPagination
    filter_backends = [DjangoFilterBackend]
    filterset_fields = ["patient", "method"]
    permission_classes = [RoleModelPermissions]
