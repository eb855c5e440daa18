from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from core.api.views import TenantReadOnlyViewSet, TenantViewSetMixin

from .. import services
from ..models import AdherenceStatus, UsageImport, UsageNight
from . import filters, serializers


class UsageImportViewSet(
    TenantViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Nightly usage exports imported. ``POST`` (multipart: ``file``, and ``serial`` or
    ``patient`` when the file names neither; ``export_source``
    to override the exporter detected) imports one for the matching PAP rental;
    a bad line refuses the file (400, the line numbers in ``fields.file``); the same file
    again changes nothing."""

    queryset = UsageImport.objects.select_related("rental__adherence")
    serializer_class = serializers.UsageImportSerializer
    filterset_class = filters.UsageImportFilter
    ordering_fields = ["created_at"]
    parser_classes = [MultiPartParser]

    @extend_schema(
        request={"multipart/form-data": serializers.UsageUploadSerializer},
        responses={201: serializers.UsageImportSerializer},
    )
    def create(self, request, *args, **kwargs):
        body = serializers.UsageUploadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        result = services.import_usage(
            self.get_active_company(),
            data["file"].read(),
            serial=data.get("serial", ""),
            patient_reference=data.get("patient", ""),
            source=data.get("export_source", ""),
        )
        usage_import = self.get_queryset().get(pk=result.usage_import.pk)
        return Response(self.get_serializer(usage_import).data, status=status.HTTP_201_CREATED)


class UsageNightViewSet(TenantReadOnlyViewSet):
    """Nights as imported (read-only; re-import a corrected export to change them)."""

    queryset = UsageNight.objects.all()
    serializer_class = serializers.UsageNightSerializer
    filterset_class = filters.UsageNightFilter
    ordering_fields = ["night"]


class AdherenceStatusViewSet(TenantReadOnlyViewSet):
    """Each PAP rental against LCD L33718's adherence rule, as last evaluated."""

    queryset = AdherenceStatus.objects.all()
    serializer_class = serializers.AdherenceStatusSerializer
    filterset_class = filters.AdherenceStatusFilter
    ordering_fields = ["period_end", "state"]
