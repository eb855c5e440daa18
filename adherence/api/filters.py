import django_filters

from ..models import AdherenceStatus, UsageImport, UsageNight


class UsageNightFilter(django_filters.FilterSet):
    night_after = django_filters.DateFilter(field_name="night", lookup_expr="gte")
    night_before = django_filters.DateFilter(field_name="night", lookup_expr="lte")

    class Meta:
        model = UsageNight
        fields = ["rental", "patient", "source"]


class UsageImportFilter(django_filters.FilterSet):
    class Meta:
        model = UsageImport
        fields = ["rental", "source"]


class AdherenceStatusFilter(django_filters.FilterSet):
    class Meta:
        model = AdherenceStatus
        fields = ["rental", "patient", "state"]
