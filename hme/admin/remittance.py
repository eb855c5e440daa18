"""Billing admin, money in: imported 835s (with an upload page), the unmatched
remittance worklist (a clerk assigns each to a claim), patient statement runs (PDF
downloads, access-logged) and eligibility checks. Every change goes through
``hme.services`` (remittance, statements, eligibility)."""

from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from core.admin import ReadOnlyAdminMixin, TenantAdmin, TenantInlineMixin
from core.admin_actions import FormAction
from core.admin_buttons import Button, ChangeButtonsMixin
from core.exceptions import ServiceError
from core.tenancy import get_active_company

from ..models import (
    Claim,
    EligibilityCheck,
    PatientPaymentMethod,
    PatientStatement,
    RemittanceClaim,
    RemittanceImport,
    StatementRun,
)
from ..services import payments as payment_service
from ..services import remittance as remittance_service
from ..services import statements as statement_service

REMITTANCE_CLAIM_FIELDS = ("payer_claim_number", "kind", "status_code", "charge", "paid", "claim")
STATEMENT_FIELDS = ("patient", "lines_count", "total_due", "download")


class RemittanceUploadForm(forms.Form):
    file = forms.FileField(label="835 file", help_text="An 835 remittance (005010X221A1).")


class RemittanceClaimInline(ReadOnlyAdminMixin, TenantInlineMixin, admin.TabularInline):
    model = RemittanceClaim
    extra = 0
    fields = REMITTANCE_CLAIM_FIELDS
    readonly_fields = REMITTANCE_CLAIM_FIELDS
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("claim")


@admin.register(RemittanceImport)
class RemittanceImportAdmin(ReadOnlyAdminMixin, TenantAdmin):
    list_display = [
        "trace_number",
        "payer",
        "paid_date",
        "bpr_amount",
        "posted_amount",
        "unmatched_amount",
        "reversed_amount",
        "provider_adjustment_amount",
        "source",
        "created_at",
    ]
    list_filter = ["payer", "source", ("paid_date", admin.DateFieldListFilter)]
    list_select_related = ["payer"]
    search_fields = ["=trace_number"]
    search_help_text = "Trace number (TRN02, exact)."
    inlines = [RemittanceClaimInline]
    readonly_fields = [
        "payer",
        "payment",
        "trace_number",
        "source",
        "file_name",
        "bpr_amount",
        "paid_date",
        "claims_count",
        "posted_amount",
        "reversed_amount",
        "unmatched_amount",
        "provider_adjustment_amount",
    ]
    change_list_template = "admin/hme/remittanceimport/change_list.html"

    def get_urls(self):
        upload = self.admin_site.admin_view(self.upload_view)
        return [
            path("upload/", upload, name="hme_remittanceimport_upload"),
            *super().get_urls(),
        ]

    def upload_view(self, request):
        """Import an 835 (``hme.services.remittance.import_835``); a refusal is shown
        beside the file field and nothing is posted."""
        if not request.user.has_perm("hme.add_remittanceimport"):
            raise Http404
        form = RemittanceUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                summary = remittance_service.import_835(
                    get_active_company(request.user),
                    upload.read(),
                    file_name=upload.name or "",
                )
            except ServiceError as error:
                form.add_error("file", error.message)
            else:
                messages.success(request, f"Imported: {summary.line()}")
                return redirect(reverse("admin:hme_remittanceimport_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Import an 835 remittance",
            "form": form,
        }
        return TemplateResponse(request, "admin/hme/remittance_upload.html", context)


class AssignForm(forms.Form):
    claim_number = forms.CharField(label="claim number", max_length=16, help_text="As C-000123.")


def _assign(row, data, request):
    claim = Claim.objects.for_user(request.user).filter(number=data["claim_number"].strip()).first()
    if claim is None:
        raise ServiceError(
            f"No claim {data['claim_number']} in your company.",
            fields={"claim_number": ["Unknown claim number."]},
        )
    return remittance_service.assign_unmatched(row, claim, request.user)


@admin.register(RemittanceClaim)
class RemittanceClaimAdmin(ReadOnlyAdminMixin, TenantAdmin):
    """The 835 claim payments; filtered to *unmatched* it is the clerks' worklist."""

    list_display = [
        "payer_claim_number",
        "kind",
        "status_code",
        "charge",
        "paid",
        "claim",
        "reason",
        "created_at",
    ]
    list_filter = ["kind", "remittance__payer"]
    list_select_related = ["claim", "remittance"]
    search_fields = ["=payer_claim_number"]
    search_help_text = "Claim number as the payer sent it (CLP01, exact)."
    readonly_fields = [
        "remittance",
        "claim",
        "kind",
        "payer_claim_number",
        "payer_control_number",
        "status_code",
        "charge",
        "paid",
        "patient_responsibility",
        "details",
        "reverses",
        "reversed_at",
        "assigned_at",
        "assigned_by",
    ]
    exclude = ["allocations"]
    actions = ["assign"]

    @admin.display(description="why unmatched")
    def reason(self, obj):
        return (obj.details or {}).get("reason", "")

    assign = FormAction(
        description="Assign to a claim (post it there)",
        form_class=AssignForm,
        service=_assign,
        done="claim payment(s) assigned",
        title="Assign unmatched claim payments",
        intro="Each is posted to the claim you name (billed to the same payer), from the "
        "money left on its payment.",
        columns=(("Claim payment", str),),
    )

    def has_change_permission(self, request, obj=None):
        # Assigning is a change (the action); the page itself stays read-only.
        return obj is None and request.user.has_perm("hme.change_remittanceclaim")


class PatientStatementInline(ReadOnlyAdminMixin, TenantInlineMixin, admin.TabularInline):
    model = PatientStatement
    extra = 0
    show_change_link = True  # the statement's page: *Record a patient payment*
    fields = STATEMENT_FIELDS
    readonly_fields = STATEMENT_FIELDS

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("patient").defer("pdf")

    @admin.display(description="PDF")
    def download(self, obj):
        from django.utils.html import format_html

        url = reverse("admin:hme_patientstatement_download", args=[obj.pk])
        return format_html('<a href="{}">Download</a>', url)


@admin.register(StatementRun)
class StatementRunAdmin(ReadOnlyAdminMixin, TenantAdmin):
    list_display = ["as_of", "statements_count", "lines_count", "total_due", "created_at"]
    readonly_fields = ["as_of", "statements_count", "lines_count", "total_due"]
    inlines = [PatientStatementInline]

    def get_urls(self):
        download = self.admin_site.admin_view(self.download_view)
        return [
            path(
                "statement/<uuid:pk>/download/",
                download,
                name="hme_patientstatement_download",
            ),
            *super().get_urls(),
        ]

    def download_view(self, request, pk):
        statement = (
            PatientStatement.objects.for_user(request.user)
            .select_related("patient")
            .filter(pk=pk)
            .first()
        )
        if statement is None or not request.user.has_perm("hme.view_patientstatement"):
            raise Http404
        content, name = statement_service.download_statement(request, statement)
        response = HttpResponse(content, content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


@admin.register(EligibilityCheck)
class EligibilityCheckAdmin(ReadOnlyAdminMixin, TenantAdmin):
    list_display = ["coverage", "status", "plan_begin", "plan_end", "answered_at", "created_at"]
    list_filter = ["status"]
    list_select_related = ["coverage__payer"]
    readonly_fields = [
        "coverage",
        "status",
        "control_number",
        "plan_begin",
        "plan_end",
        "deductible_remaining",
        "coinsurance_percent",
        "rejection_reasons",
        "answered_at",
        "checked_by",
    ]


class PatientPaymentForm(forms.Form):
    """A patient's payment toward their statement (``record_patient_payment``)."""

    method = forms.ChoiceField(choices=PatientPaymentMethod.choices)
    reference = forms.CharField(
        label="check number / card reference",
        max_length=50,
        required=False,
        help_text="Check number, or the card's approval code and last 4 digits (never the "
        "card number).",
    )
    amount = forms.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0.01"))
    received_at = forms.DateTimeField(label="received at", initial=timezone.now)


def _record_patient_payment(statement, data, request):
    return payment_service.record_patient_payment(
        patient=statement.patient,
        amount=data["amount"],
        method=data["method"],
        reference=data["reference"],
        received_at=data["received_at"],
        user=request.user,
    )


@admin.register(PatientStatement)
class PatientStatementAdmin(ChangeButtonsMixin, ReadOnlyAdminMixin, TenantAdmin):
    """A patient's statement; *Record a patient payment* posts what the patient paid
    against their open share (the next statement shows it)."""

    list_display = ["patient", "run", "lines_count", "total_due", "created_at"]
    list_select_related = ["patient", "run"]
    fields = ["patient", "run", "lines_count", "total_due", "download"]
    readonly_fields = ["patient", "run", "lines_count", "total_due", "download"]
    actions = ["record_patient_payment"]
    change_buttons = [Button("record_patient_payment")]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("pdf")

    @admin.display(description="PDF")
    def download(self, obj):
        from django.utils.html import format_html

        url = reverse("admin:hme_patientstatement_download", args=[obj.pk])
        return format_html('<a href="{}">Download</a>', url)

    def has_record_payment_permission(self, request):
        return request.user.has_perm("hme.add_patientpayment")

    record_patient_payment = FormAction(
        description="Record a patient payment...",
        form_class=PatientPaymentForm,
        service=_record_patient_payment,
        done="patient payment(s) recorded",
        title="Record a patient payment",
        intro="The payment is applied to the patient's open share, oldest date of service "
        "first. More than the patient owes is refused: AriesOne keeps no credit.",
        select_related=("patient",),
        columns=(("Statement", str),),
        permissions=("record_payment",),
    )
