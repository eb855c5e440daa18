"""Filters integrators use: patient, provider, location, status, date ranges.

Date ranges follow one pattern: ``<field>_after`` / ``<field>_before`` (inclusive),
e.g. ``?starts_at_after=2026-03-01T00:00:00Z&starts_at_before=2026-03-31T23:59:59Z``.
No filter here takes a date of birth, phone or e-mail: PHI stays out of URLs
(``POST /patients/search/`` takes them in the body).
"""

import django_filters
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from core.api.filters import TenantFilterSet

from ..choices import AlertStatus, AppointmentStatus, PatientStatus
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
from ..models.patients import is_phi_search_term


class PatientFilter(TenantFilterSet):
    search = django_filters.CharFilter(
        method="filter_search",
        label="Name prefix (last, first, 'Doe, Ja', 'Jane Doe') or patient number. "
        "Dates of birth, phones and e-mails go to POST /patients/search/.",
    )
    status = django_filters.MultipleChoiceFilter(choices=PatientStatus.choices)
    last_name = django_filters.CharFilter(lookup_expr="istartswith", label="Last-name prefix")
    created_at = django_filters.IsoDateTimeFromToRangeFilter()

    class Meta:
        model = Patient
        fields = ["search", "status", "home_location", "primary_prescriber", "number", "state"]

    def filter_search(self, queryset, name, value):
        if is_phi_search_term(value):
            raise ValidationError(
                {
                    "search": [
                        "Dates of birth, phone numbers and e-mail addresses are not taken "
                        "in the URL: send them in the body of POST /api/v1/patients/search/."
                    ]
                }
            )
        return queryset.search(value)


class ProviderFilter(TenantFilterSet):
    last_name = django_filters.CharFilter(lookup_expr="istartswith", label="Last-name prefix")

    class Meta:
        model = Provider
        fields = [
            "npi",
            "specialty",
            "credential",
            "license_state",
            "is_verified",
            "is_active",
            "user",
        ]


class AppointmentFilter(TenantFilterSet):
    status = django_filters.MultipleChoiceFilter(choices=AppointmentStatus.choices)
    starts_at = django_filters.IsoDateTimeFromToRangeFilter()

    class Meta:
        model = Appointment
        fields = ["patient", "provider", "location", "kind", "status", "is_virtual"]


class MedicalRecordFilter(TenantFilterSet):
    visit_date = django_filters.DateFromToRangeFilter()

    class Meta:
        model = MedicalRecord
        fields = ["patient", "provider", "record_type"]


class DiagnosisFilter(TenantFilterSet):
    code = django_filters.CharFilter(label="ICD-10-CM code, with or without the dot")
    onset_date = django_filters.DateFromToRangeFilter()

    class Meta:
        model = Diagnosis
        fields = ["patient", "code", "is_active"]


class BiometricAlertFilter(TenantFilterSet):
    status = django_filters.MultipleChoiceFilter(choices=AlertStatus.choices)
    observed_at = django_filters.IsoDateTimeFromToRangeFilter()

    class Meta:
        model = BiometricAlert
        fields = ["patient", "metric", "severity", "status"]


class AIModelFilter(TenantFilterSet):
    class Meta:
        model = AIModel
        fields = ["name", "version", "kind", "is_active"]


class PredictionLogFilter(TenantFilterSet):
    created_at = django_filters.IsoDateTimeFromToRangeFilter()

    class Meta:
        model = PredictionLog
        fields = ["patient", "model"]


class HealthInsightFilter(TenantFilterSet):
    current = django_filters.BooleanFilter(
        method="filter_current", label="true: not expired; false: expired"
    )
    awaiting_action = django_filters.BooleanFilter(
        method="filter_awaiting_action", label="true: actionable with no action yet"
    )
    created_at = django_filters.IsoDateTimeFromToRangeFilter()

    class Meta:
        model = HealthInsight
        fields = ["patient", "model", "insight_type", "is_actionable"]

    def filter_current(self, queryset, name, value):
        current = queryset.current(timezone.now())
        return current if value else queryset.exclude(pk__in=current.values("pk"))

    def filter_awaiting_action(self, queryset, name, value):
        awaiting = queryset.awaiting_action()
        return awaiting if value else queryset.exclude(pk__in=awaiting.values("pk"))


class DigitalTwinFilter(TenantFilterSet):
    computed_at = django_filters.IsoDateTimeFromToRangeFilter()

    class Meta:
        model = DigitalTwin
        fields = ["patient", "model"]
