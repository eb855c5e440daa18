"""Billing admin, coverage: a patient's policies with their authorizations, and the
eligibility check through ``hme.services``."""

import uuid

from django.contrib import admin

from clinical.admin_search import AUTOCOMPLETE_LABELS
from core.admin import TenantAdmin, TenantInlineMixin, run_service
from core.admin_actions import ServiceErrorsInFormMixin
from core.admin_buttons import Button, ChangeButtonsMixin
from core.tenancy import get_active_company_id

from .. import services
from ..forms import CoverageAdminForm
from ..models import Authorization, Coverage
from .filters import PATIENT_SEARCH_HELP, search_by_patient

AUTHORIZATION_FIELDS = (
    "number",
    "codes",
    "valid_from",
    "valid_to",
    "units_approved",
    "units_used",
    "status",
)


class AuthorizationInline(TenantInlineMixin, admin.TabularInline):
    model = Authorization
    extra = 0
    show_change_link = True
    can_delete = False
    fields = AUTHORIZATION_FIELDS
    readonly_fields = AUTHORIZATION_FIELDS

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="HCPCS")
    def codes(self, obj):
        return ", ".join(obj.hcpcs_codes or [])


def coverage_label(coverage):
    """What tells a patient's coverages apart in a picker: payer, priority, the member
    id's last four, and the dates."""
    end = coverage.termination_date
    return (
        f"{coverage.payer} ({coverage.get_priority_display().lower()}) "
        f"{coverage.member_id_masked}, {coverage.effective_date:%m/%d/%Y}-"
        f"{f'{end:%m/%d/%Y}' if end else 'open'}"
    )


AUTOCOMPLETE_LABELS["hme.coverage"] = coverage_label


@admin.register(Coverage)
class CoverageAdmin(ChangeButtonsMixin, ServiceErrorsInFormMixin, TenantAdmin):
    form = CoverageAdminForm
    list_display = [
        "patient_name",
        "payer",
        "priority",
        "member",
        "effective_date",
        "termination_date",
        "is_active",
        "verified_at",
    ]
    list_filter = ["priority", "is_active", "payer", ("verified_at", admin.EmptyFieldListFilter)]
    list_select_related = ["patient", "payer"]
    search_fields = ["=patient__number"]
    search_help_text = PATIENT_SEARCH_HELP
    autocomplete_fields = ["patient", "payer"]
    readonly_fields = ["is_active", "verified_at", "verified_by"]
    fieldsets = [
        (None, {"fields": ["patient", "payer", "priority", "subscriber_relation"]}),
        ("Policy", {"fields": ["member_id", "group_number", "effective_date", "termination_date"]}),
        ("Eligibility", {"fields": ["is_active", "verified_at", "verified_by"]}),
    ]
    inlines = [AuthorizationInline]
    actions = ["check_eligibility", "verify_eligibility"]
    change_buttons = [Button("check_eligibility"), Button("verify_eligibility")]

    @admin.display(description="patient", ordering="patient__last_name")
    def patient_name(self, obj):
        return obj.patient.display_name

    def get_search_results(self, request, queryset, search_term):
        # Member IDs are not searched here: the term would sit in the URL. The API's
        # POST /coverages/lookup/ takes a member ID in the body.
        queryset = queryset.select_related("payer")
        patient = request.GET.get("patient", "")
        if request.path.endswith("/autocomplete/") and patient:
            # A claim's coverage picker: the chosen patient's policies only
            # (static/cockpit/coverage_picker.js sends the patient's id).
            try:
                queryset = queryset.filter(patient_id=uuid.UUID(patient))
            except ValueError:
                return queryset.none(), False
        if not search_term.strip():
            company_id = get_active_company_id(request.user)
            if company_id is not None and not request.user.is_superuser:
                # The list is ordered by the patient's name (Coverage.Meta.ordering).
                # With the company named on the patient too (the same company: the
                # check hme.coverage_patient_company), PostgreSQL walks
                # patient_name_idx and stops after a page instead of sorting every
                # patient of every company (100,000 patients: 590 ms -> 63 ms a page).
                # Not when searching: the search's few patients are gathered first
                # and sorted, where a walk would read every name before theirs.
                queryset = queryset.filter(patient__company_id=company_id)
            return queryset, False
        return search_by_patient(request, queryset, search_term), False

    @admin.display(description="member ID")
    def member(self, obj):
        return obj.member_id_masked

    @admin.action(
        description="Check eligibility with the payer (270 sent; the 271 answers)",
        permissions=["change"],
    )
    def check_eligibility(self, request, queryset):
        from ..services.eligibility import request_eligibility

        run_service(
            self,
            request,
            queryset.select_related("payer", "patient", "company"),
            lambda coverage: request_eligibility(coverage, request.user),
            "eligibility inquiry(ies) sent",
        )

    @admin.action(
        description="Record a manual eligibility verification (checked with the payer now)",
        permissions=["change"],
    )
    def verify_eligibility(self, request, queryset):
        run_service(
            self,
            request,
            queryset,
            lambda coverage: services.verify_coverage(coverage, request.user),
            "coverage(s) marked verified",
        )
