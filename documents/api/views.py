"""Documents API: scoped, access-logged viewsets; every change calls
``documents.services``. Files go in as ``multipart/form-data`` and come out only
through the ``download`` and audit-packet endpoints (each download logged)."""

from django.db import transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from core.api.permissions import ActionPermission
from core.api.views import TenantNoDeleteViewSet, TenantReadOnlyViewSet, TenantViewSetMixin
from core.choices import AccessVia
from hme.models import Claim

from .. import files, services, tasks
from ..models import Document, FaxIntake, LegalHold, SigningRequest
from ..views import packet_response, stream_document
from . import serializers

BINARY = {(200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY)}
PDF = {(200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY)}


class DocumentViewSet(TenantNoDeleteViewSet):
    """A patient's documents. ``POST`` is a multipart upload (400 ``file_too_large``,
    ``file_type_refused``, ``file_unreadable``); ``GET .../download/`` streams the
    file and writes an access-log row. Documents are never deleted here: retention
    (``purge_expired``) removes them."""

    queryset = Document.objects.all()
    serializer_class = serializers.DocumentSerializer
    filterset_fields = ["patient", "kind", "source", "order", "claim"]
    ordering_fields = ["received_at"]
    ordering = ["-received_at", "-id"]
    permission_classes = [ActionPermission]
    action_permissions = {"mark_sent": ["documents.change_document"]}

    @extend_schema(
        request={"multipart/form-data": serializers.DocumentUploadSerializer},
        responses={201: serializers.DocumentSerializer},
    )
    def create(self, request, *args, **kwargs):
        body = serializers.DocumentUploadSerializer(data=request.data, context={"request": request})
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        document = services.upload_document(
            patient=data.pop("patient"), kind=data.pop("kind"), file=data.pop("file"), **data
        )
        return Response(self.get_serializer(document).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=BINARY)
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        """The file, decrypted and authenticated; logged as an export."""
        return stream_document(request, self.get_object(), via=AccessVia.API)

    @extend_schema(
        request=serializers.AttachmentSentSerializer, responses=serializers.DocumentSerializer
    )
    @action(detail=True, methods=["post"], url_path="mark-sent")
    def mark_sent(self, request, pk=None):
        """Sent to the payer by fax (FX) or mail (BM) for its claim: the 837P's PWK."""
        document = self.get_object()
        body = serializers.AttachmentSentSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        document = services.mark_attachment_sent(
            document,
            transmission=body.validated_data["transmission"],
            control_number=body.validated_data.get("control_number", ""),
        )
        return Response(self.get_serializer(document).data)


class FaxIntakeViewSet(TenantViewSetMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """The fax intake worklist. ``POST`` uploads a fax (multipart); OCR runs in the
    background and fills the suggestions; ``file`` files pages as a patient's
    document (a person's decision, never automatic); ``discard`` drops the fax."""

    queryset = FaxIntake.objects.select_related("suggested_patient", "suggested_prescriber")
    serializer_class = serializers.FaxIntakeSerializer
    filterset_fields = ["status", "origin"]
    ordering = ["received_at", "id"]
    permission_classes = [ActionPermission]
    action_permissions = {
        "file": ["documents.add_document", "documents.change_faxintake"],
        "discard": ["documents.change_faxintake"],
    }

    def get_serializer_class(self):
        if self.action == "retrieve":
            return serializers.FaxIntakeDetailSerializer
        return super().get_serializer_class()

    @extend_schema(responses=serializers.FaxIntakeDetailSerializer)
    def retrieve(self, request, *args, **kwargs):
        return TenantViewSetMixin.retrieve(self, request, *args, **kwargs)

    @extend_schema(
        request={"multipart/form-data": serializers.FaxUploadSerializer},
        responses={201: serializers.FaxIntakeSerializer},
    )
    def create(self, request, *args, **kwargs):
        body = serializers.FaxUploadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = files.read_limited(body.validated_data["file"])
        intake = services.receive_fax(company=self.get_active_company(), data=data)
        transaction.on_commit(lambda: tasks.recognise_intake.delay(str(intake.pk)))
        intake.refresh_from_db()
        return Response(self.get_serializer(intake).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=serializers.FileIntakeSerializer, responses=serializers.DocumentSerializer
    )
    @action(detail=True, methods=["post"])
    def file(self, request, pk=None):
        intake = self.get_object()
        body = serializers.FileIntakeSerializer(data=request.data, context={"request": request})
        body.is_valid(raise_exception=True)
        data = body.validated_data
        document = services.file_intake(
            intake,
            patient=data["patient"],
            kind=data["kind"],
            pages=data.get("pages", ""),
            prescriber=data.get("prescriber"),
            order=data.get("order"),
        )
        return Response(
            serializers.DocumentSerializer(document, context=self.get_serializer_context()).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(request=None, responses=serializers.FaxIntakeSerializer)
    @action(detail=True, methods=["post"])
    def discard(self, request, pk=None):
        intake = services.discard_intake(self.get_object())
        return Response(self.get_serializer(intake).data)


class SigningRequestViewSet(TenantReadOnlyViewSet):
    """Prescriber signing requests. ``POST`` sends one for an order: the prescriber
    gets a single-use link by e-mail; the token is never returned or stored."""

    queryset = SigningRequest.objects.all()
    serializer_class = serializers.SigningRequestSerializer
    filterset_fields = ["order", "status"]
    ordering = ["-sent_at", "-id"]
    permission_classes = [ActionPermission]
    action_permissions = {"create": ["documents.add_signingrequest"]}

    @extend_schema(
        request=serializers.SendSigningSerializer,
        responses={201: serializers.SigningRequestSerializer},
    )
    def create(self, request, *args, **kwargs):
        body = serializers.SendSigningSerializer(data=request.data, context={"request": request})
        body.is_valid(raise_exception=True)
        signing, _token = services.send_signing_request(
            body.validated_data["order"],
            email=body.validated_data["email"],
            base_url=request.build_absolute_uri("/"),
        )
        return Response(self.get_serializer(signing).data, status=status.HTTP_201_CREATED)


class LegalHoldViewSet(TenantReadOnlyViewSet):
    """Legal holds on a patient or a claim; ``release`` ends one."""

    queryset = LegalHold.objects.all()
    serializer_class = serializers.LegalHoldSerializer
    filterset_fields = ["patient", "claim"]
    ordering = ["-created_at", "-id"]
    permission_classes = [ActionPermission]
    action_permissions = {
        "create": ["documents.add_legalhold"],
        "release": ["documents.change_legalhold"],
    }

    @extend_schema(
        request=serializers.LegalHoldSerializer, responses={201: serializers.LegalHoldSerializer}
    )
    def create(self, request, *args, **kwargs):
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        hold = services.place_hold(
            company=self.get_active_company(),
            patient=body.validated_data.get("patient"),
            claim=body.validated_data.get("claim"),
            reason=body.validated_data.get("reason", ""),
        )
        return Response(self.get_serializer(hold).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=serializers.LegalHoldSerializer)
    @action(detail=True, methods=["post"])
    def release(self, request, pk=None):
        hold = services.release_hold(self.get_object(), user=request.user)
        return Response(self.get_serializer(hold).data)


class AuditPacketViewSet(TenantViewSetMixin, viewsets.GenericViewSet):
    """``GET /audit-packets/{claim id}/``: the claim's audit packet (one PDF); needs
    claims and documents read access; logged as an export."""

    queryset = Claim.objects.select_related("order")
    permission_classes = [ActionPermission]
    action_permissions = {"retrieve": ["documents.view_document"]}
    pagination_class = None
    filter_backends: list = []

    @extend_schema(request=None, responses=PDF)
    def retrieve(self, request, pk=None):
        return packet_response(request, self.get_object(), via=AccessVia.API)
