"""Billing admin, prior authorizations: the payer's approval or denial recorded through
``hme.services``."""

from django.contrib import admin
from django.utils import timezone

from core.admin import TenantAdmin, run_service
from core.admin_buttons import Button, ChangeButtonsMixin, can_become

from .. import services
from ..choices import AuthorizationStatus
from ..forms import AuthorizationAdminForm
from ..models import Authorization
from ..transitions import AUTHORIZATION_TRANSITIONS
from .filters import PATIENT_SEARCH_HELP, search_by_patient


@admin.register(Authorization)
class AuthorizationAdmin(ChangeButtonsMixin, TenantAdmin):
    form = AuthorizationAdminForm
    list_display = [
        "number",
        "patient",
        "payer",
        "codes",
        "valid_from",
        "valid_to",
        "units_approved",
        "units_used",
        "status",
    ]
    list_filter = ["status", ("valid_to", admin.DateFieldListFilter), "coverage__payer"]
    list_select_related = ["coverage__patient", "coverage__payer"]
    search_fields = ["=number", "=coverage__patient__number"]
    search_help_text = "Authorization number (exact) or " + PATIENT_SEARCH_HELP
    autocomplete_fields = ["coverage"]
    readonly_fields = ["status", "units_used", "decided_at"]
    fields = [
        "coverage",
        "hcpcs_codes",
        "number",
        "valid_from",
        "valid_to",
        "units_approved",
        "units_used",
        "status",
        "decided_at",
        "notes",
    ]
    actions = ["approve", "deny"]
    change_buttons = [
        Button("approve", when=can_become(AUTHORIZATION_TRANSITIONS, AuthorizationStatus.APPROVED)),
        Button(
            "deny",
            when=can_become(AUTHORIZATION_TRANSITIONS, AuthorizationStatus.DENIED),
            style="danger",
        ),
    ]

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        by_number = queryset.filter(number=term)
        return by_number | search_by_patient(request, queryset, term, "coverage__patient"), False

    @admin.display(description="patient", ordering="coverage__patient__last_name")
    def patient(self, obj):
        # The name for staff; str() of a patient is only the number (no PHI in logs).
        return obj.coverage.patient.display_name

    @admin.display(description="payer")
    def payer(self, obj):
        return obj.coverage.payer

    @admin.display(description="HCPCS")
    def codes(self, obj):
        return ", ".join(obj.hcpcs_codes or [])

    @admin.action(
        description="Record the payer's approval (number, units and dates as entered)",
        permissions=["change"],
    )
    def approve(self, request, queryset):
        run_service(
            self,
            request,
            queryset,
            lambda auth: services.approve_authorization(
                auth,
                number=auth.number,
                units_approved=auth.units_approved,
                valid_from=auth.valid_from or timezone.localdate(),
                valid_to=auth.valid_to,
            ),
            "authorization(s) approved",
        )

    @admin.action(description="Record the payer's denial", permissions=["change"])
    def deny(self, request, queryset):
        run_service(self, request, queryset, services.deny_authorization, "authorization(s) denied")
