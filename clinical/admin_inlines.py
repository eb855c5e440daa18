"""The inlines of the patient's admin page: the clinical context around a patient
(diagnoses, recent and upcoming appointments, records, open alerts)."""

import datetime

from django import forms
from django.contrib import admin
from django.utils import timezone

from core.admin import TenantInlineMixin
from core.phi import EncryptedTextField

from .models import Appointment, BiometricAlert, Diagnosis, MedicalRecord

# The patient page shows appointments from this far back, and every upcoming one; the
# "All appointments" link lists the rest.
RECENT_APPOINTMENTS = datetime.timedelta(days=180)


class ReadOnlyInlineMixin(TenantInlineMixin):
    """Context, not editing: rows open on their own page, where the services apply."""

    extra = 0
    show_change_link = True
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        return self.fields


class DiagnosisInline(TenantInlineMixin, admin.TabularInline):
    model = Diagnosis
    extra = 0
    fields = ["code", "description", "onset_date", "is_active"]
    formfield_overrides = {EncryptedTextField: {"widget": forms.TextInput(attrs={"size": 60})}}


class AppointmentInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = Appointment
    verbose_name_plural = "appointments (last 6 months and upcoming)"
    fields = ["starts_at", "ends_at", "kind", "provider", "location", "status", "is_virtual"]
    ordering = ["starts_at"]

    def get_queryset(self, request):
        since = timezone.now() - RECENT_APPOINTMENTS
        return (
            super()
            .get_queryset(request)
            .filter(starts_at__gte=since)
            .select_related("provider", "location")
        )


class MedicalRecordInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = MedicalRecord
    fields = ["visit_date", "record_type", "provider", "codes"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("provider")

    @admin.display(description="diagnosis codes")
    def codes(self, obj):
        return obj.diagnosis_codes_display


class OpenAlertInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = BiometricAlert
    verbose_name_plural = "open biometric alerts"
    fields = ["observed_at", "metric", "value", "threshold", "severity", "status"]
    ordering = ["-observed_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).unresolved()
