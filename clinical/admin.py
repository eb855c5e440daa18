"""Clinical admin: patients with their clinical context, prescribers, appointments,
records, alerts and AI insights. Workflow changes are actions that call the services."""

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from core.admin import ReadOnlyAdminMixin, TenantAdmin, run_service
from core.admin_audit import PatientTrailAdminMixin
from core.admin_buttons import Button, ChangeButtonsMixin, can_become
from core.admin_filters import DistinctValuesListFilter
from core.validators import normalize_icd10, validate_icd10

from . import admin_panels, services
from .admin_inlines import DiagnosisInline
from .admin_search import (
    PATIENT_SEARCH_HELP,
    PatientFindMixin,
    PatientLinkedSearchMixin,
    PHISearchGuardMixin,
    is_url_unsafe_term,
    tolerant_search,
)
from .choices import AlertStatus, AppointmentStatus
from .forms import (
    AppointmentAdminForm,
    HealthInsightAdminForm,
    MedicalRecordAdminForm,
    PatientAdminForm,
)
from .models import (
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
from .transitions import ALERT_TRANSITIONS, APPOINTMENT_TRANSITIONS

# Patients and providers --------------------------------------------------------------

admin_panels.register()


class PossibleDuplicateFilter(admin.SimpleListFilter):
    """Patients sharing a last name and date of birth with another (the intake
    dashboard's "possible duplicate patients" links here)."""

    title = "possible duplicate"
    parameter_name = "duplicate"

    def lookups(self, request, model_admin):
        return [("yes", "Same last name and date of birth as another patient")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.possible_duplicates()
        return queryset


@admin.register(Patient)
class PatientAdmin(
    ChangeButtonsMixin, PatientFindMixin, PHISearchGuardMixin, PatientTrailAdminMixin, TenantAdmin
):
    # No steps of its own: higher floors add theirs at start-up (resupply).
    form = PatientAdminForm
    list_display = [
        "number",
        "last_name",
        "first_name",
        "status",
        "home_location",
        "primary_prescriber",
    ]
    list_display_links = ["number", "last_name"]
    list_filter = [
        "status",
        "home_location",
        "primary_prescriber",
        ("state", DistinctValuesListFilter),
        PossibleDuplicateFilter,
    ]
    # get_search_results does the searching; a search field makes the box appear.
    search_fields = ["^last_name"]
    search_help_text = PATIENT_SEARCH_HELP
    list_select_related = ["home_location", "primary_prescriber"]
    autocomplete_fields = ["primary_prescriber"]
    readonly_fields = ["number", "clinical_links"]
    # The appointments, records and open alerts are panels (clinical/admin_panels.py).
    inlines = [DiagnosisInline]
    fieldsets = [
        (
            None,
            {"fields": ["number", "first_name", "last_name", "dob", "sex", "status"]},
        ),
        (
            "Contact",
            {
                "fields": [
                    "phone",
                    "email",
                    "address_line1",
                    "address_line2",
                    ("city", "state", "postal_code"),
                ]
            },
        ),
        ("Notifications", {"fields": ["notification_channel", "notifications_opt_out"]}),
        (
            "Emergency contact",
            {
                "fields": [
                    "emergency_contact_name",
                    "emergency_contact_phone",
                    "emergency_contact_relationship",
                ]
            },
        ),
        ("Care", {"fields": ["home_location", "primary_prescriber", "clinical_links"]}),
        ("Confidential", {"fields": ["ssn_last4", "notes"]}),
    ]

    def get_fieldsets(self, request, obj=None):
        fieldsets = [*super().get_fieldsets(request, obj)]
        if request.user.is_superuser:
            fieldsets.insert(0, ("Company", {"fields": ["company"]}))
        if obj is None:
            fieldsets.insert(1, ("Possible duplicate", {"fields": ["confirm_duplicate"]}))
        return fieldsets

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.request = request
        return form

    def get_search_results(self, request, queryset, search_term):
        # One search for the changelist, the autocomplete of every patient field and
        # the API: PatientQuerySet.search. Both arrive by GET: a PHI term finds nothing
        # here (the find form POSTs it).
        if is_url_unsafe_term(search_term):
            return queryset.none(), False
        return tolerant_search(queryset, search_term), False

    def save_model(self, request, obj, form, change):
        if change:
            services.update_patient(obj, form.changed_data)
            return None
        self.assign_company(request, obj)
        services.register_patient(obj, confirm_duplicate=form.cleaned_data["confirm_duplicate"])
        return None

    @admin.display(description="full history")
    def clinical_links(self, obj):
        if obj is None or obj.pk is None:
            return "-"
        links = [
            ("appointment", "All appointments"),
            ("medicalrecord", "All medical records"),
            ("biometricalert", "All alerts"),
            ("healthinsight", "Health insights"),
            ("predictionlog", "Predictions"),
        ]
        return format_html_join(
            " · ",
            '<a href="{}?patient={}">{}</a>',
            (
                (reverse(f"admin:clinical_{model}_changelist"), obj.pk, label)
                for model, label in links
            ),
        )


@admin.register(Provider)
class ProviderAdmin(ChangeButtonsMixin, TenantAdmin):
    list_display = [
        "last_name",
        "first_name",
        "credential",
        "npi",
        "specialty",
        "is_verified",
        "is_active",
    ]
    list_filter = ["specialty", "credential", "is_verified", "is_active", "license_state"]
    search_fields = ["^last_name", "^first_name", "=npi"]
    search_help_text = "Last or first name (prefix) or NPI (exact)."
    autocomplete_fields = ["user"]
    readonly_fields = ["is_verified", "verified_at", "patients_link"]
    actions = ["verify", "unverify"]
    change_buttons = [
        Button("verify", when=lambda provider: not provider.is_verified),
        Button("unverify", when=lambda provider: provider.is_verified, style="danger"),
    ]

    @admin.display(description="Patients")
    def patients_link(self, obj):
        """The patients list filtered to this prescriber (the list's own sidebar cannot
        list every prescriber of a large supplier: core.admin_filters)."""
        if obj is None or obj.pk is None:
            return "-"
        url = reverse("admin:clinical_patient_changelist")
        return format_html(
            '<a href="{}?primary_prescriber__id__exact={}">Patients with this primary '
            "prescriber</a>",
            url,
            obj.pk,
        )

    @admin.action(description="Mark verified (NPI and licence checked)", permissions=["change"])
    def verify(self, request, queryset):
        run_service(self, request, queryset, services.verify_provider, "provider(s) verified")

    @admin.action(description="Withdraw verification", permissions=["change"])
    def unverify(self, request, queryset):
        run_service(
            self,
            request,
            queryset,
            lambda provider: services.verify_provider(provider, verified=False),
            "provider(s) no longer verified",
        )


# Appointments and records ------------------------------------------------------------


@admin.register(Appointment)
class AppointmentAdmin(ChangeButtonsMixin, PatientLinkedSearchMixin, TenantAdmin):
    form = AppointmentAdminForm
    list_display = [
        "starts_at",
        "ends_at",
        "patient",
        "provider",
        "location",
        "kind",
        "status",
        "is_virtual",
    ]
    list_filter = [
        "status",
        "kind",
        ("starts_at", admin.DateFieldListFilter),
        "location",
        "provider",
        "is_virtual",
    ]
    list_select_related = ["patient", "provider", "location"]
    autocomplete_fields = ["patient", "provider"]
    readonly_fields = ["status"]
    ordering = ["-starts_at"]
    actions = ["confirm", "complete", "cancel", "no_show"]
    change_buttons = [
        Button("confirm", when=can_become(APPOINTMENT_TRANSITIONS, AppointmentStatus.CONFIRMED)),
        Button("complete", when=can_become(APPOINTMENT_TRANSITIONS, AppointmentStatus.COMPLETED)),
        Button("no_show", when=can_become(APPOINTMENT_TRANSITIONS, AppointmentStatus.NO_SHOW)),
        Button(
            "cancel",
            when=can_become(APPOINTMENT_TRANSITIONS, AppointmentStatus.CANCELLED),
            style="danger",
        ),
    ]

    def save_model(self, request, obj, form, change):
        self.assign_company(request, obj)
        # The form checked under the provider lock, in this same transaction.
        if change:
            services.save_appointment(obj)
        else:
            services.book_appointment(obj)

    def _transition(self, request, queryset, change, done):
        run_service(self, request, queryset.select_related("patient"), change, done)

    @admin.action(description="Confirm", permissions=["change"])
    def confirm(self, request, queryset):
        self._transition(request, queryset, services.confirm_appointment, "confirmed")

    @admin.action(description="Mark completed", permissions=["change"])
    def complete(self, request, queryset):
        self._transition(request, queryset, services.complete_appointment, "completed")

    @admin.action(description="Cancel", permissions=["change"])
    def cancel(self, request, queryset):
        self._transition(request, queryset, services.cancel_appointment, "cancelled")

    @admin.action(description="Mark no-show", permissions=["change"])
    def no_show(self, request, queryset):
        self._transition(request, queryset, services.mark_no_show, "marked no-show")


@admin.register(MedicalRecord)
class MedicalRecordAdmin(PatientLinkedSearchMixin, TenantAdmin):
    form = MedicalRecordAdminForm
    list_display = ["visit_date", "patient", "record_type", "provider", "codes"]
    list_filter = ["record_type", ("visit_date", admin.DateFieldListFilter), "provider"]
    list_select_related = ["patient", "provider"]
    autocomplete_fields = ["patient", "provider"]
    ordering = ["-visit_date"]

    @admin.display(description="diagnosis codes")
    def codes(self, obj):
        return obj.diagnosis_codes_display


@admin.register(Diagnosis)
class DiagnosisAdmin(PatientLinkedSearchMixin, TenantAdmin):
    list_display = ["patient", "display_code", "onset_date", "is_active"]
    list_filter = ["is_active"]
    list_select_related = ["patient"]
    autocomplete_fields = ["patient"]
    search_help_text = "ICD-10-CM code (G47.33), or a patient: " + PATIENT_SEARCH_HELP

    @admin.display(description="code", ordering="code")
    def display_code(self, obj):
        return obj.display_code

    def get_search_results(self, request, queryset, search_term):
        try:
            validate_icd10(search_term)
        except ValidationError:  # not a code: a patient
            return super().get_search_results(request, queryset, search_term)
        by_code = queryset.filter(code=normalize_icd10(search_term))
        by_patient, _ = super().get_search_results(request, queryset, search_term)
        return by_code | by_patient, False


@admin.register(BiometricAlert)
class BiometricAlertAdmin(ChangeButtonsMixin, PatientLinkedSearchMixin, TenantAdmin):
    list_display = [
        "observed_at",
        "patient",
        "metric",
        "reading",
        "threshold",
        "severity",
        "status",
        "acknowledged_by",
    ]
    list_filter = ["status", "severity", "metric", ("observed_at", admin.DateFieldListFilter)]
    list_select_related = ["patient", "acknowledged_by"]
    autocomplete_fields = ["patient"]
    readonly_fields = [
        "status",
        "acknowledged_by",
        "acknowledged_at",
        "resolved_by",
        "resolved_at",
        "resolution_note",
    ]
    ordering = ["-observed_at"]
    actions = ["acknowledge", "resolve"]
    change_buttons = [
        Button("acknowledge", when=can_become(ALERT_TRANSITIONS, AlertStatus.ACKNOWLEDGED)),
        Button("resolve", when=can_become(ALERT_TRANSITIONS, AlertStatus.RESOLVED)),
    ]

    @admin.display(description="value", ordering="value")
    def reading(self, obj):
        return f"{obj.value} {obj.unit}".strip()

    @admin.action(description="Acknowledge", permissions=["change"])
    def acknowledge(self, request, queryset):
        run_service(
            self,
            request,
            queryset,
            lambda alert: services.acknowledge_alert(alert, request.user),
            "alert(s) acknowledged",
        )

    @admin.action(description="Resolve", permissions=["change"])
    def resolve(self, request, queryset):
        run_service(
            self,
            request,
            queryset,
            lambda alert: services.resolve_alert(alert, request.user),
            "alert(s) resolved",
        )


# AI insights -------------------------------------------------------------------------


@admin.register(AIModel)
class AIModelAdmin(TenantAdmin):
    list_display = ["name", "version", "kind", "accuracy", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["^name"]


@admin.register(PredictionLog)
class PredictionLogAdmin(ReadOnlyAdminMixin, PatientLinkedSearchMixin, TenantAdmin):
    """Append-only: predictions are read here, never changed."""

    list_display = ["created_at", "model", "patient", "confidence", "processing_ms"]
    list_filter = ["model", ("created_at", admin.DateFieldListFilter)]
    list_select_related = ["model", "patient"]


@admin.register(HealthInsight)
class HealthInsightAdmin(PatientLinkedSearchMixin, TenantAdmin):
    form = HealthInsightAdminForm
    list_display = [
        "created_at",
        "patient",
        "insight_type",
        "confidence",
        "is_actionable",
        "action_taken_at",
        "expires_at",
    ]
    list_filter = ["insight_type", "is_actionable", "model"]
    list_select_related = ["patient"]
    autocomplete_fields = ["patient", "model"]
    readonly_fields = ["action_taken", "action_taken_by", "action_taken_at"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        action = form.cleaned_data.get("record_action")
        if action:
            services.record_insight_action(obj, request.user, action)


@admin.register(DigitalTwin)
class DigitalTwinAdmin(PatientLinkedSearchMixin, TenantAdmin):
    list_display = ["patient", "model", "computed_at"]
    list_filter = ["model"]
    list_select_related = ["patient", "model"]
    autocomplete_fields = ["patient", "model"]
