"""Filters of the billing API (one FilterSet per model).

Date ranges follow one pattern: ``<field>_after`` / ``<field>_before`` (inclusive).
No filter takes a member ID or MBI: PHI stays out of URLs (``POST /coverages/lookup/``
takes it in the body).
"""

import django_filters
from django.db.models import Exists, OuterRef

from core.api.filters import TenantFilterSet

from ..choices import AdjustmentGroup, AuthorizationStatus, ClaimStatus
from ..models import Authorization, Claim, ClaimLine, Coverage, Payer, Payment
from ..models.claims import AGE_BUCKETS


class PayerFilter(TenantFilterSet):
    name = django_filters.CharFilter(lookup_expr="istartswith", label="Name prefix")

    class Meta:
        model = Payer
        fields = ["name", "kind", "payer_id", "is_active"]


class CoverageFilter(TenantFilterSet):
    effective_date = django_filters.DateFromToRangeFilter()

    class Meta:
        model = Coverage
        fields = ["patient", "payer", "priority", "is_active", "subscriber_relation"]


class AuthorizationFilter(TenantFilterSet):
    status = django_filters.MultipleChoiceFilter(choices=AuthorizationStatus.choices)
    valid_to = django_filters.DateFromToRangeFilter()
    patient = django_filters.UUIDFilter(field_name="coverage__patient", label="Patient id")

    class Meta:
        model = Authorization
        fields = ["coverage", "patient", "status", "number"]


class ClaimFilter(TenantFilterSet):
    status = django_filters.MultipleChoiceFilter(choices=ClaimStatus.choices)
    denial_group = django_filters.ChoiceFilter(choices=AdjustmentGroup.choices)
    age_bucket = django_filters.ChoiceFilter(
        choices=[(key, f"{key} days") for key in AGE_BUCKETS],
        method="filter_age_bucket",
        label="Days since submission: 0-30, 31-60, 61-90, 90+",
    )
    submitted_at = django_filters.IsoDateTimeFromToRangeFilter()
    created_at = django_filters.IsoDateTimeFromToRangeFilter()
    date_of_service = django_filters.DateFromToRangeFilter(
        method="filter_date_of_service", label="A line's date of service (range)"
    )

    class Meta:
        model = Claim
        fields = [
            "status",
            "payer",
            "patient",
            "coverage",
            "denial_group",
            "denial_code",
            "number",
            "order",
            "rental",
        ]

    def filter_age_bucket(self, queryset, name, value):
        return queryset.aged(*AGE_BUCKETS[value])

    def filter_date_of_service(self, queryset, name, value):
        lines = ClaimLine.objects.filter(claim=OuterRef("pk"))
        if value.start:
            lines = lines.filter(date_of_service__gte=value.start)
        if value.stop:
            lines = lines.filter(date_of_service__lte=value.stop)
        return queryset.filter(Exists(lines))


class PaymentFilter(TenantFilterSet):
    paid_date = django_filters.DateFromToRangeFilter()

    class Meta:
        model = Payment
        fields = ["payer", "method", "number"]
