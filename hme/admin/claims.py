"""Billing admin, the claims worklist: columns, filters and search; claims created and
corrected through ``hme.services`` with their lines; every status change an action
(those needing input declared with ``core.admin_actions.FormAction``)."""

from functools import partial

from django.contrib import admin
from django.db.models import OuterRef, Subquery
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from accounts.tenancy import signed_in_user
from core.admin import TenantAdmin, run_service
from core.admin_actions import FormAction, ServiceErrorsInFormMixin
from core.admin_buttons import Button, ChangeButtonsMixin, LinkButton, can_become

from .. import services
from ..choices import CARC_DESCRIPTIONS, ClaimStatus
from ..forms import (
    ApproveForm,
    ClaimAdminForm,
    ClaimLineAdminForm,
    DenyForm,
    OverrideForm,
    ReplaceForm,
    ResubmitForm,
    VoidForm,
)
from ..models import Claim, ClaimLine
from ..models.claims import CLAIM_NUMBER_PREFIX
from ..readiness.panels import claim_panel
from ..services.claims import CORRECTABLE_FIELDS
from ..transitions import CLAIM_TRANSITIONS
from .batches import ClearinghouseFilter, create_837p_batch
from .billing import billing_urls
from .claim_lines import AllocationOnClaimInline, ClaimLineInline
from .filters import PATIENT_SEARCH_HELP, AgeBucketFilter, DenialCodeFilter, search_by_patient

# The selected claims as the action pages list them.
ClaimFormAction = partial(
    FormAction,
    select_related=["patient", "payer"],
    columns=[
        ("Claim", lambda claim: claim.number),
        ("Patient", lambda claim: claim.patient.number),
        ("Payer", lambda claim: claim.payer),
        ("Status", lambda claim: claim.get_status_display()),
        ("Total charge", lambda claim: claim.total_charge),
    ],
)


def _unsent_and_late(claim):
    """An unsent pending claim past the payer's filing limit: the override's button."""
    if claim.status != ClaimStatus.PENDING or claim.submitted_at is not None:
        return False
    deadline = services.filing_deadline(claim)
    return deadline is not None and deadline < timezone.localdate()


@admin.register(Claim)
class ClaimAdmin(ChangeButtonsMixin, ServiceErrorsInFormMixin, TenantAdmin):
    """The claims worklist."""

    form = ClaimAdminForm
    list_display = [
        "number",
        "patient_number",
        "patient_name",
        "payer",
        "status",
        "first_service_date",
        "total_charge",
        "allowed_amount",
        "paid_amount",
        "age",
        "denial",
        "filing",
        "underpaid",
    ]
    list_filter = ["status", "payer", AgeBucketFilter, DenialCodeFilter, ClearinghouseFilter]
    list_select_related = ["patient", "payer"]
    search_fields = ["=number"]
    search_help_text = "Claim number (C-000123) or " + PATIENT_SEARCH_HELP
    autocomplete_fields = ["patient", "coverage", "referring_provider"]
    inlines = [ClaimLineInline, AllocationOnClaimInline]
    actions = [
        "submit",
        "submit_with_override",
        "mark_processing",
        "approve",
        "deny",
        "resubmit",
        "replace",
        "void",
        create_837p_batch,
        "patient_statements",
    ]
    change_buttons = [
        Button(
            "submit",
            when=can_become(
                CLAIM_TRANSITIONS, ClaimStatus.PROCESSING, also=lambda c: c.submitted_at is None
            ),
        ),
        Button("submit_with_override", when=lambda c: _unsent_and_late(c)),
        Button(
            "mark_processing",
            when=can_become(
                CLAIM_TRANSITIONS,
                ClaimStatus.PROCESSING,
                also=lambda c: c.status == ClaimStatus.PENDING and c.submitted_at is not None,
            ),
        ),
        Button("approve", when=can_become(CLAIM_TRANSITIONS, ClaimStatus.APPROVED)),
        Button("deny", when=can_become(CLAIM_TRANSITIONS, ClaimStatus.DENIED)),
        Button("resubmit", when=can_become(CLAIM_TRANSITIONS, ClaimStatus.PENDING)),
        LinkButton(
            "Post a payment",
            url=lambda c: reverse("admin:hme_payment_add") + f"?payer={c.payer_id}",
            when=can_become(CLAIM_TRANSITIONS, ClaimStatus.PAID),
            permission="hme.add_payment",
        ),
        LinkButton("Print CMS-1500 data", url=lambda c: reverse("admin:print_claim", args=[c.pk])),
        Button("void", when=can_become(CLAIM_TRANSITIONS, ClaimStatus.VOID), style="danger"),
    ]
    READONLY = [
        "number",
        "status",
        "payer",
        "total_charge",
        "allowed_amount",
        "paid_amount",
        "patient_responsibility",
        "submitted_at",
        "submission_count",
        "acknowledged_at",
        "adjudicated_at",
        "paid_at",
        "denial",
        "correction_note",
        "voided_at",
        "void_reason",
        "timely_filing_override",
        "order",
        "rental",
        "rental_month",
        "replaces",
        "expected_amount",
        "underpaid_amount",
        "billing_readiness",
    ]

    @admin.display(description="billing readiness")
    def billing_readiness(self, obj):
        """Ready to bill / On hold: the claim's reasons (hme.readiness)."""
        return claim_panel(obj) if obj is not None and obj.pk else "-"

    def get_fieldsets(self, request, obj=None):
        header = [
            "patient",
            "coverage",
            "billing_location",
            "referring_provider",
            "diagnosis_codes",
        ]
        if obj is None:
            return [(None, {"fields": header})]
        if not obj.is_editable:
            header = ["diagnoses_shown" if name == "diagnosis_codes" else name for name in header]
        return [
            (None, {"fields": ["number", "status", "payer", *header]}),
            (
                "Money",
                {
                    "fields": [
                        ("total_charge", "allowed_amount"),
                        ("paid_amount", "patient_responsibility"),
                        ("expected_amount", "underpaid_amount"),
                    ]
                },
            ),
            (
                "History",
                {
                    "fields": [
                        ("submitted_at", "submission_count"),
                        "acknowledged_at",
                        "adjudicated_at",
                        "paid_at",
                        "denial",
                        "correction_note",
                        "timely_filing_override",
                        ("voided_at", "void_reason"),
                    ]
                },
            ),
            ("Billed from", {"fields": ["order", "rental", "rental_month", "replaces"]}),
            ("Ready to bill / On hold", {"fields": ["billing_readiness"]}),
        ]

    class Media:
        # The coverage picker lists the chosen patient's policies only.
        js = ["cockpit/coverage_picker.js"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is not None and "coverage" in form.base_fields:
            form.base_fields["coverage"].widget.attrs["data-patient"] = str(obj.patient_id)
        return form

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and not obj.is_editable:
            return [*self.READONLY, "patient", *CORRECTABLE_FIELDS, "diagnoses_shown"]
        if obj is not None:
            # The patient of a claim never changes: correct the coverage, not the person.
            return [*self.READONLY, "patient"]
        return self.READONLY

    def get_queryset(self, request):
        # The earliest date of service (filing-limit flag) in the same query, as a correlated
        # subquery: evaluated for the page's rows only, where a GROUP BY over the join
        # would aggregate the whole table before the LIMIT.
        first_dos = (
            ClaimLine.objects.filter(claim=OuterRef("pk"))
            .order_by("date_of_service")
            .values("date_of_service")[:1]
        )
        return super().get_queryset(request).annotate(first_dos=Subquery(first_dos))

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        if term.upper().startswith(CLAIM_NUMBER_PREFIX):
            return queryset.filter(number=term.upper()), False
        return search_by_patient(request, queryset, term), False

    def has_add_permission(self, request):
        # Claims come from what they bill: "Bill this delivery" / "Bill this rental
        # month" on the order, delivery and rental pages, the rental run, or a
        # replacement of an existing claim (docs/domain/hme-billing.md).
        return False

    def has_delete_permission(self, request, obj=None):
        # Claims are kept 7 years: void instead.
        return False

    def get_urls(self):
        return [*billing_urls(), *super().get_urls()]

    # Columns ------------------------------------------------------------------------

    @admin.display(description="diagnosis codes")
    def diagnoses_shown(self, obj):
        # Read-only, the codes as staff write them (G47.33, I10), not the stored list.
        return obj.diagnosis_codes_display or "-"

    @admin.display(description="patient no.", ordering="patient__number")
    def patient_number(self, obj):
        return obj.patient.number

    @admin.display(description="patient", ordering="patient__last_name")
    def patient_name(self, obj):
        return f"{obj.patient.last_name}, {obj.patient.first_name}"

    @admin.display(description="DOS", ordering="first_dos")
    def first_service_date(self, obj):
        return getattr(obj, "first_dos", None)

    @admin.display(description="age (days)", ordering="submitted_at")
    def age(self, obj):
        days = obj.age_days()
        return "-" if days is None else days

    @admin.display(description="denial")
    def denial(self, obj):
        if not obj.denial_code:
            return ""
        return format_html(
            '<span title="{}">{}-{}</span>',
            CARC_DESCRIPTIONS.get(obj.denial_code, ""),
            obj.denial_group,
            obj.denial_code,
        )

    @admin.display(description="filing limit")
    def filing(self, obj):
        """Flags unsent claims past (or within 30 days of) the payer's limit."""
        first = getattr(obj, "first_dos", None)
        if first is None or obj.submitted_at is not None or not obj.is_open:
            return ""
        deadline = first + timezone.timedelta(days=obj.payer.timely_filing_days)
        left = (deadline - timezone.localdate()).days
        if left < 0:
            return format_html('<strong style="color:#ba2121">LATE since {}</strong>', deadline)
        if left <= 30:
            return format_html('<span style="color:#b26b00">due {}</span>', deadline)
        return ""

    @admin.display(description="underpaid", ordering="underpaid_amount")
    def underpaid(self, obj):
        if not obj.underpaid_amount:
            return ""
        return format_html(
            '<strong style="color:#ba2121" title="Paid below the expected reimbursement">'
            "short ${}</strong>",
            obj.underpaid_amount,
        )

    @admin.display(description="timely filing override")
    def timely_filing_override(self, obj):
        if not obj.timely_filing_override_reason:
            return "-"
        who = obj.timely_filing_override_by
        when = timezone.localtime(obj.timely_filing_override_at)
        who = who or "a removed user"
        return f"{obj.timely_filing_override_reason} (by {who}, {when:%Y-%m-%d %H:%M})"

    # Saving through the services -----------------------------------------------------

    def save_model(self, request, obj, form, change):
        # Saved with its lines in save_related, through the services.
        pass

    def save_related(self, request, form, formsets, change):
        for formset in formsets:
            # Nothing is saved by the formsets themselves; the change message reads these.
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        lines_formset = next(fs for fs in formsets if fs.model is ClaimLine)
        line_forms = [
            f
            for f in lines_formset.forms
            if f.cleaned_data and not lines_formset._should_delete_form(f)
        ]
        lines = [
            {
                **{name: f.cleaned_data[name] for name in ClaimLineAdminForm.Meta.fields},
                # What the line bills stays with it; a row typed in points at nothing and
                # the service refuses it (line_bills_nothing).
                "order_line": f.instance.order_line if f.instance.pk else None,
                "rental_month": f.instance.rental_month if f.instance.pk else None,
                "expected_amount": f.instance.expected_amount if f.instance.pk else None,
                "expected_basis": f.instance.expected_basis if f.instance.pk else "",
            }
            for f in sorted(line_forms, key=lambda f: f.instance.line_number or 10_000)
        ]
        obj = form.instance
        if not obj.is_editable:
            return
        fields = {
            name: form.cleaned_data[name]
            for name in CORRECTABLE_FIELDS
            if name in form.changed_data
        }
        replace = lines_formset.has_changed()
        if fields or replace:
            services.update_claim(obj, lines=lines if replace else None, **fields)

    # Actions ----------------------------------------------------------------------------

    @admin.action(description="Submit to the payer", permissions=["change"])
    def submit(self, request, queryset):
        run_service(
            self,
            request,
            queryset,
            lambda claim: services.submit_claim(claim, request.user),
            "claim(s) submitted",
        )

    @admin.action(
        description="Make patient statements for these claims' patients", permissions=["change"]
    )
    def patient_statements(self, request, queryset):
        from core.tenancy import get_active_company

        from ..services.statements import run_statements

        patients = set(queryset.values_list("patient_id", flat=True))
        run = run_statements(
            get_active_company(request.user), patient_ids=patients, request=request
        )
        self.message_user(
            request,
            f"{run.statements_count} statement(s) made, ${run.total_due:,.2f} due "
            "(patients with no open balance get none).",
        )

    @admin.action(description="Mark acknowledged by the payer (processing)", permissions=["change"])
    def mark_processing(self, request, queryset):
        run_service(self, request, queryset, services.mark_processing, "claim(s) now processing")

    submit_with_override = ClaimFormAction(
        description="Submit past the timely filing limit (override, Billing)...",
        form_class=OverrideForm,
        service=lambda claim, data, request: services.submit_claim(
            claim, signed_in_user(request), override_reason=data["override_reason"]
        ),
        done="claim(s) submitted",
        title="Submit past the timely filing limit",
        intro="The reason, your name and the time are recorded on each claim. Claims "
        "still within the limit are submitted as usual.",
        submit_label="Submit",
    )

    approve = ClaimFormAction(
        description="Record approval (allowed amounts)...",
        form_class=ApproveForm,
        form_kwargs=lambda request, claims: {"claims": claims},
        service=lambda claim, data, request: services.approve_claim(
            claim, allowed=data["allowed"][claim.pk]
        ),
        done="claim(s) approved",
        title="Record the payer's approval",
        intro="Give each claim's allowed amount as on the remittance; it is spread over "
        "the lines in proportion to their charges.",
        submit_label="Approve",
    )

    deny = ClaimFormAction(
        description="Record denial (CARC reason)...",
        form_class=DenyForm,
        service=lambda claim, data, request: services.deny_claim(
            claim, data["group"], data["code"], data["text"]
        ),
        done="claim(s) denied",
        title="Record the payer's denial",
        intro="The group and reason code (CARC) as on the remittance, e.g. CO-50 (not "
        "medically necessary), CO-16 (missing information).",
        submit_label="Deny",
    )

    resubmit = ClaimFormAction(
        description="Resubmit corrected denied claims...",
        form_class=ResubmitForm,
        service=lambda claim, data, request: services.resubmit_claim(
            claim,
            data["correction_note"],
            signed_in_user(request),
            override_reason=data["override_reason"] or None,
        ),
        done="claim(s) resubmitted",
        title="Resubmit corrected claims",
        intro="Correct each claim first (open it and edit its lines or diagnoses); the "
        "note says what was corrected.",
        submit_label="Resubmit",
    )

    replace = ClaimFormAction(
        description="Replace with a corrected claim...",
        form_class=ReplaceForm,
        service=lambda claim, data, request: services.replace_claim(claim, data["reason"]),
        done="claim(s) replaced",
        title="Replace with corrected claims",
        intro="Each claim is voided and a new pending claim with the same lines (each "
        "still billing its delivered item or rental month) replaces it; correct the new "
        "claim, then submit it. Claims with payments posted cannot be replaced.",
        submit_label="Replace",
    )

    void = ClaimFormAction(
        description="Void...",
        form_class=VoidForm,
        service=lambda claim, data, request: services.void_claim(claim, data["reason"]),
        done="claim(s) voided",
        title="Void claims",
        intro="A voided claim is kept, never billed again. Claims with payments posted "
        "cannot be voided.",
        submit_label="Void",
    )
