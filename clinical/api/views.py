"""Clinical API: scoped, access-logged viewsets; workflow changes are actions that call
``clinical.services``."""

from django.http import HttpResponse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from core.access_report import export_access_report
from core.api.pagination import CursorPagination
from core.api.permissions import ActionPermission, RoleModelPermissions
from core.api.trail_serializers import (
    AccessReportQuerySerializer,
    EmergencyAccessRequestSerializer,
    EmergencyAccessSerializer,
)
from core.api.views import TenantCreateMixin, TenantModelViewSet, TenantViewSetMixin
from core.choices import AccessVia
from core.emergency import grant_emergency_access

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
from . import filters, serializers


class SearchPermission(RoleModelPermissions):
    """``POST /patients/search/`` only reads: it needs the view permission."""

    perms_map = {**RoleModelPermissions.perms_map, "POST": ["%(app_label)s.view_%(model_name)s"]}


class AccessReportPermission(SearchPermission):
    """The access report reads the access log: the patient's and the log's view
    permissions (Administrator, Auditor)."""

    def has_permission(self, request, view):
        return super().has_permission(request, view) and request.user.has_perm(
            "core.view_accesslog"
        )


class PatientViewSet(TenantModelViewSet):
    """Patients. ``?search=`` takes name prefixes and patient numbers; dates of birth,
    phones and e-mails are searched with ``POST /patients/search/`` so they never appear
    in a URL. Creating a possible duplicate (same last name and date of birth) is a
    409 ``possible_duplicate`` unless the body says ``"confirm_duplicate": true``."""

    queryset = Patient.objects.all()
    serializer_class = serializers.PatientSerializer
    filterset_class = filters.PatientFilter
    ordering_fields = ["last_name", "first_name", "number", "created_at"]

    def get_permissions(self):
        if self.action == "search":
            return [SearchPermission()]
        return super().get_permissions()

    @extend_schema(
        request=EmergencyAccessRequestSerializer,
        responses={201: EmergencyAccessSerializer},
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="emergency-access",
        permission_classes=[SearchPermission],
    )
    def emergency_access(self, request, pk=None):
        """Break the glass: see this patient's records at every location for a while,
        with a stated reason (``core.emergency``; logged and listed for the Auditor)."""
        patient = self.get_object()
        body = EmergencyAccessRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        grant = grant_emergency_access(
            request, patient, body.validated_data["reason"], via=AccessVia.API
        )
        return Response(EmergencyAccessSerializer(grant).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[AccessReportQuerySerializer],
        responses={(200, "text/csv"): bytes, (200, "application/pdf"): bytes},
    )
    @action(
        detail=True,
        methods=["get"],
        url_path="access-report",
        permission_classes=[AccessReportPermission],
    )
    def access_report(self, request, pk=None):
        """Who looked at this patient's records, when, how, why (45 CFR 164.528), as
        ``?as=csv`` or ``?as=pdf``; the export is itself logged."""
        patient = self.get_object()
        query = AccessReportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        content, content_type, name = export_access_report(
            request, patient, query.validated_data["as"], via=AccessVia.API
        )
        response = HttpResponse(content, content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    @extend_schema(
        request=serializers.PatientSearchSerializer,
        responses=serializers.PatientSerializer(many=True),
    )
    @action(detail=False, methods=["post"])
    def search(self, request):
        """Find patients by date of birth, phone, e-mail (exact, via blind index), name
        prefix or number, with the terms in the body."""
        terms = serializers.PatientSearchSerializer(data=request.data)
        terms.is_valid(raise_exception=True)
        queryset = terms.filter(self.filter_queryset(self.get_queryset()))
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


class ProviderViewSet(TenantModelViewSet):
    """Prescribers and clinicians. Verification is ``POST /providers/{id}/verify/`` (and
    ``/unverify/``)."""

    queryset = Provider.objects.all()
    serializer_class = serializers.ProviderSerializer
    filterset_class = filters.ProviderFilter
    search_fields = ["^last_name", "^first_name", "=npi"]
    ordering_fields = ["last_name", "first_name", "npi", "created_at"]
    permission_classes = [ActionPermission]
    action_permissions = {
        "verify": ["clinical.change_provider"],
        "unverify": ["clinical.change_provider"],
    }

    @extend_schema(request=None, responses=serializers.ProviderSerializer)
    @action(detail=True, methods=["post"])
    def verify(self, request, pk=None):
        """Record that the NPI and licence were checked (NPPES, state board)."""
        provider = services.verify_provider(self.get_object(), verified=True)
        return Response(self.get_serializer(provider).data)

    @extend_schema(request=None, responses=serializers.ProviderSerializer)
    @action(detail=True, methods=["post"])
    def unverify(self, request, pk=None):
        provider = services.verify_provider(self.get_object(), verified=False)
        return Response(self.get_serializer(provider).data)


class AppointmentViewSet(TenantModelViewSet):
    """Appointments. A provider is never double-booked: an overlapping create or
    reschedule is a 409 ``provider_double_booked``. Status moves with the actions
    ``confirm``, ``complete``, ``cancel`` and ``no-show``."""

    queryset = Appointment.objects.all()
    serializer_class = serializers.AppointmentSerializer
    filterset_class = filters.AppointmentFilter
    ordering_fields = ["starts_at", "created_at"]
    permission_classes = [ActionPermission]
    action_permissions = {
        name: ["clinical.change_appointment"]
        for name in ("confirm", "complete", "cancel", "no_show")
    }

    def _transition(self, change):
        appointment = change(self.get_object())
        return Response(self.get_serializer(appointment).data)

    @extend_schema(request=None, responses=serializers.AppointmentSerializer)
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        return self._transition(services.confirm_appointment)

    @extend_schema(request=None, responses=serializers.AppointmentSerializer)
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        return self._transition(services.complete_appointment)

    @extend_schema(request=None, responses=serializers.AppointmentSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        return self._transition(services.cancel_appointment)

    @extend_schema(request=None, responses=serializers.AppointmentSerializer)
    @action(detail=True, methods=["post"], url_path="no-show")
    def no_show(self, request, pk=None):
        return self._transition(services.mark_no_show)


class MedicalRecordViewSet(TenantModelViewSet):
    queryset = MedicalRecord.objects.all()
    serializer_class = serializers.MedicalRecordSerializer
    filterset_class = filters.MedicalRecordFilter
    ordering_fields = ["visit_date", "created_at"]


class DiagnosisViewSet(TenantModelViewSet):
    queryset = Diagnosis.objects.all()
    serializer_class = serializers.DiagnosisSerializer
    filterset_class = filters.DiagnosisFilter
    ordering_fields = ["code", "onset_date", "created_at"]


class BiometricAlertViewSet(TenantModelViewSet):
    """Alerts posted by monitoring integrations; ``acknowledge`` and ``resolve`` (with
    an optional ``note``) record who dealt with them."""

    queryset = BiometricAlert.objects.all()
    serializer_class = serializers.BiometricAlertSerializer
    filterset_class = filters.BiometricAlertFilter
    ordering_fields = ["observed_at", "severity", "created_at"]
    permission_classes = [ActionPermission]
    action_permissions = {
        "acknowledge": ["clinical.change_biometricalert"],
        "resolve": ["clinical.change_biometricalert"],
    }

    @extend_schema(request=None, responses=serializers.BiometricAlertSerializer)
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        alert = services.acknowledge_alert(self.get_object(), request.user)
        return Response(self.get_serializer(alert).data)

    @extend_schema(
        request=serializers.AlertResolveSerializer,
        responses=serializers.BiometricAlertSerializer,
    )
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        body = serializers.AlertResolveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        alert = services.resolve_alert(
            self.get_object(), request.user, note=body.validated_data["note"]
        )
        return Response(self.get_serializer(alert).data)


class AIModelViewSet(TenantModelViewSet):
    queryset = AIModel.objects.all()
    serializer_class = serializers.AIModelSerializer
    filterset_class = filters.AIModelFilter
    search_fields = ["^name"]
    ordering_fields = ["name", "version", "created_at"]


class PredictionLogViewSet(
    TenantViewSetMixin,
    TenantCreateMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Predictions, append-only: create, list, retrieve; never changed or deleted.
    Cursor-paginated (a log grows without bound)."""

    queryset = PredictionLog.objects.all()
    serializer_class = serializers.PredictionLogSerializer
    filterset_class = filters.PredictionLogFilter
    pagination_class = CursorPagination
    # The cursor walks (created_at, id): no client-chosen ordering, no free-text search.
    filter_backends = [DjangoFilterBackend]


class HealthInsightViewSet(TenantModelViewSet):
    """Insights posted by AI services. ``POST /health-insights/{id}/take-action/`` with
    ``{"action": "..."}`` records what staff did (once, actionable insights only)."""

    queryset = HealthInsight.objects.all()
    serializer_class = serializers.HealthInsightSerializer
    filterset_class = filters.HealthInsightFilter
    ordering_fields = ["created_at", "expires_at", "confidence"]
    permission_classes = [ActionPermission]
    action_permissions = {"take_action": ["clinical.change_healthinsight"]}

    @extend_schema(
        request=serializers.InsightActionSerializer,
        responses=serializers.HealthInsightSerializer,
    )
    @action(detail=True, methods=["post"], url_path="take-action")
    def take_action(self, request, pk=None):
        body = serializers.InsightActionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        insight = services.record_insight_action(
            self.get_object(), request.user, body.validated_data["action"]
        )
        return Response(self.get_serializer(insight).data, status=status.HTTP_200_OK)


class DigitalTwinViewSet(TenantModelViewSet):
    """One digital twin per patient; integrators replace its contents with PUT/PATCH."""

    queryset = DigitalTwin.objects.all()
    serializer_class = serializers.DigitalTwinSerializer
    filterset_class = filters.DigitalTwinFilter
    ordering_fields = ["computed_at", "created_at"]
