from rest_framework.routers import SimpleRouter

from core.api.serializers import AUDIT_FIELDS, TenantModelSerializer
from core.api.views import TenantModelViewSet

from .models import PHIRecord


class PHIRecordSerializer(TenantModelSerializer):
    class Meta:
        model = PHIRecord
        fields = [*AUDIT_FIELDS, "company", "name", "dob", "mbi", "notes", "location"]


class PHIRecordViewSet(TenantModelViewSet):
    queryset = PHIRecord.objects.select_related("location")
    serializer_class = PHIRecordSerializer
    search_fields = ["^name"]


router = SimpleRouter()
router.register("phi-records", PHIRecordViewSet, basename="phirecord")
