"""Billing admin, payment posting: what a payment already posted (history) and new
allocations posted together through ``hme.services.post_payment``."""

from django.contrib import admin

from core.access import record_access
from core.admin import ReadOnlyAdminMixin, TenantAdmin, TenantInlineMixin
from core.admin_actions import ServiceErrorsInFormMixin
from core.choices import AccessAction, AccessVia

from .. import services
from ..forms import NewAllocationForm, NewAllocationFormSet, PaymentAdminForm
from ..models import PatientPayment, PatientPaymentAllocation, Payment, PaymentAllocation

POSTED_ALLOCATION_FIELDS = (
    "claim",
    "claim_line",
    "amount",
    "adjustments_display",
    "created_at",
    "created_by",
)


class PostedAllocationInline(ReadOnlyAdminMixin, TenantInlineMixin, admin.TabularInline):
    """What is already posted from this payment: history, never edited."""

    model = PaymentAllocation
    fk_name = "payment"
    extra = 0
    verbose_name_plural = "posted allocations"
    fields = POSTED_ALLOCATION_FIELDS
    readonly_fields = POSTED_ALLOCATION_FIELDS

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("claim", "claim_line", "created_by")
            .prefetch_related("adjustments")
        )

    @admin.display(description="adjustments")
    def adjustments_display(self, obj):
        return "; ".join(f"{a.group}-{a.code} {a.amount}" for a in obj.adjustments.all()) or "-"


class NewAllocationInline(TenantInlineMixin, admin.TabularInline):
    """New allocations: posted together through ``post_payment`` when the payment is saved."""

    model = PaymentAllocation
    fk_name = "payment"
    form = NewAllocationForm
    formset = NewAllocationFormSet
    extra = 3
    can_delete = False
    verbose_name = "new allocation"
    verbose_name_plural = "post allocations"
    autocomplete_fields = ["claim"]

    def get_queryset(self, request):
        return super().get_queryset(request).none()


@admin.register(Payment)
class PaymentAdmin(ServiceErrorsInFormMixin, TenantAdmin):
    form = PaymentAdminForm
    list_display = [
        "number",
        "payer",
        "method",
        "paid_date",
        "amount",
        "allocated_amount",
        "unallocated",
    ]
    list_filter = ["payer", "method", ("paid_date", admin.DateFieldListFilter)]
    list_select_related = ["payer"]
    search_fields = ["=number"]
    search_help_text = "Check or EFT number (exact)."
    autocomplete_fields = ["payer"]
    readonly_fields = ["allocated_amount"]
    fields = ["payer", "method", "number", "paid_date", "amount", "allocated_amount", "note"]
    inlines = [PostedAllocationInline, NewAllocationInline]
    date_hierarchy = None

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.allocated_amount:
            # Allocations follow the payer: it cannot change once money is posted.
            return [*self.readonly_fields, "payer"]
        return self.readonly_fields

    @admin.display(description="unallocated")
    def unallocated(self, obj):
        return obj.unallocated_amount

    def has_delete_permission(self, request, obj=None):
        return False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        payment = getattr(response, "context_data", {}).get("original")
        if request.method == "GET" and response.status_code == 200 and payment is not None:
            # The posted allocations name claims (patient-linked): their view is logged.
            record_access(
                request,
                list(payment.allocations.all()),
                via=AccessVia.ADMIN,
                action=AccessAction.VIEW,
            )
        return response

    def save_formset(self, request, form, formset, change):
        if isinstance(formset, NewAllocationFormSet):
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
            allocations = formset.allocations()
            if allocations:
                services.post_payment(form.instance, allocations)
            return
        super().save_formset(request, form, formset, change)


PATIENT_ALLOCATION_FIELDS = ("claim", "claim_line", "amount")


class PatientPaymentAllocationInline(ReadOnlyAdminMixin, TenantInlineMixin, admin.TabularInline):
    model = PatientPaymentAllocation
    extra = 0
    fields = PATIENT_ALLOCATION_FIELDS
    readonly_fields = PATIENT_ALLOCATION_FIELDS

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("claim", "claim_line")


@admin.register(PatientPayment)
class PatientPaymentAdmin(ReadOnlyAdminMixin, TenantAdmin):
    """Patients' payments (history). They are recorded from a statement's *Record a
    patient payment* button or ``POST /api/v1/patient-payments/``, through
    ``hme.services.record_patient_payment``."""

    list_display = ["patient", "method", "reference", "amount", "received_at", "received_by"]
    list_filter = ["method", ("received_at", admin.DateFieldListFilter)]
    list_select_related = ["patient", "received_by"]
    search_fields = ["=reference"]
    search_help_text = "Check number or card reference (exact)."
    readonly_fields = ["patient", "method", "reference", "amount", "received_at", "received_by"]
    inlines = [PatientPaymentAllocationInline]
