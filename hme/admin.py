"""Billing admin: the claims worklist (age buckets, denial codes, actions that call the
services), payment posting with allocations inline, coverage with eligibility checks,
prior authorizations and payers.

Nothing here changes a status or money by itself: creating and correcting claims,
every status change and every payment posting go through ``hme.services``. A
service's refusal is shown on the form with what the user typed (see
:class:`ServiceErrorsInFormMixin`) or, for list actions, as one message per claim.
"""

from django.contrib import admin
from django.contrib.admin import helpers
from django.db.models import OuterRef, Subquery
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import format_html

from accounts.tenancy import get_active_company
from clinical.models import Patient
from core.access import record_access
from core.admin import ReadOnlyAdminMixin, TenantAdmin, TenantInlineMixin, run_service
from core.choices import AccessAction, AccessVia
from core.exceptions import ServiceError

from . import services
from .choices import CARC_DESCRIPTIONS, describe_carc
from .forms import (
    ApproveForm,
    AuthorizationAdminForm,
    ClaimAdminForm,
    ClaimLineAdminForm,
    CoverageAdminForm,
    DenyForm,
    NewAllocationForm,
    NewAllocationFormSet,
    OverrideForm,
    PaymentAdminForm,
    ResubmitForm,
    VoidForm,
)
from .models import Authorization, Claim, ClaimLine, Coverage, Payer, Payment, PaymentAllocation
from .models.claims import AGE_BUCKETS, CLAIM_NUMBER_PREFIX
from .services.claims import CORRECTABLE_FIELDS

PATIENT_SEARCH_HELP = (
    "Patient last name or first name (prefix), 'Doe, Jane', patient number (P-000123) "
    "or date of birth."
)


class BillingAdmin(TenantAdmin):
    """TenantAdmin whose relation filters list only the company's rows."""


class ServiceErrorsInFormMixin:
    """A ``ServiceError`` raised while saving (inside the admin's transaction, which it
    rolls back) is shown on the re-rendered form, with the user's input kept: the view
    runs again with the error stored on the request, and the form's ``clean`` reports it.
    """

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.request = request
        return form

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ServiceError as error:
            if request.method != "POST" or hasattr(request, "_hme_service_error"):
                raise
            request._hme_service_error = error
            return super().changeform_view(request, object_id, form_url, extra_context)


def search_by_patient(request, queryset, term, field="patient"):
    """Rows of the patients the one patient search finds (names, number, DOB)."""
    patients = Patient.objects.for_user(request.user).search(term)
    return queryset.filter(**{f"{field}__in": patients.values("pk")})


# Payers ------------------------------------------------------------------------------------


@admin.register(Payer)
class PayerAdmin(BillingAdmin):
    list_display = ["name", "payer_id", "kind", "timely_filing_days", "phone", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["^name", "=payer_id"]
    search_help_text = "Name (prefix) or payer ID (exact)."
    fieldsets = [
        (None, {"fields": ["name", "payer_id", "kind", "timely_filing_days", "is_active"]}),
        (
            "Contact",
            {
                "fields": [
                    "address_line1",
                    "address_line2",
                    ("city", "state", "postal_code"),
                    "phone",
                ]
            },
        ),
    ]

    def has_delete_permission(self, request, obj=None):
        # Claims and payments point at payers for 7 years: deactivate instead.
        return False


# Coverage and authorizations ---------------------------------------------------------------


class AuthorizationInline(TenantInlineMixin, admin.TabularInline):
    model = Authorization
    extra = 0
    show_change_link = True
    can_delete = False
    fields = ["number", "codes", "valid_from", "valid_to", "units_approved", "units_used", "status"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="HCPCS")
    def codes(self, obj):
        return ", ".join(obj.hcpcs_codes or [])


@admin.register(Coverage)
class CoverageAdmin(ServiceErrorsInFormMixin, BillingAdmin):
    form = CoverageAdminForm
    list_display = [
        "patient",
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
    actions = ["verify_eligibility"]

    def get_search_results(self, request, queryset, search_term):
        # Member IDs are not searched here: the term would sit in the URL. The API's
        # POST /coverages/lookup/ takes a member ID in the body.
        if not search_term.strip():
            return queryset, False
        return search_by_patient(request, queryset, search_term), False

    @admin.display(description="member ID")
    def member(self, obj):
        return obj.member_id_masked

    @admin.action(
        description="Verify eligibility (checked with the payer now)", permissions=["change"]
    )
    def verify_eligibility(self, request, queryset):
        run_service(
            self,
            request,
            queryset,
            lambda coverage: services.verify_coverage(coverage, request.user),
            "coverage(s) marked verified",
        )


@admin.register(Authorization)
class AuthorizationAdmin(BillingAdmin):
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

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        by_number = queryset.filter(number=term)
        return by_number | search_by_patient(request, queryset, term, "coverage__patient"), False

    @admin.display(description="patient", ordering="coverage__patient__last_name")
    def patient(self, obj):
        return obj.coverage.patient

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


# Claims ------------------------------------------------------------------------------------


class AgeBucketFilter(admin.SimpleListFilter):
    """Days since the (latest) submission: the aging buckets of a claims worklist."""

    title = "age since submission"
    parameter_name = "age"

    def lookups(self, request, model_admin):
        return [(key, f"{key} days") for key in AGE_BUCKETS]

    def queryset(self, request, queryset):
        bounds = AGE_BUCKETS.get(self.value())
        if bounds is None:
            return queryset
        return queryset.aged(*bounds)


class DenialCodeFilter(admin.SimpleListFilter):
    """The denial reasons (group-code) found on the company's claims."""

    title = "denial reason"
    parameter_name = "denial"

    def lookups(self, request, model_admin):
        pairs = (
            Claim.objects.for_user(request.user)
            .exclude(denial_code="")
            .order_by("denial_group", "denial_code")
            .values_list("denial_group", "denial_code")
            .distinct()
        )
        return [(f"{group}-{code}", describe_carc(group, code)[:60]) for group, code in pairs]

    def queryset(self, request, queryset):
        value = self.value() or ""
        group, _, code = value.partition("-")
        if not (group and code):
            return queryset
        return queryset.filter(denial_group=group, denial_code=code)


class ClaimLineInline(TenantInlineMixin, admin.TabularInline):
    """The lines: editable while the claim can be corrected (pending or denied); saved
    through ``update_claim`` / ``create_claim``, never directly."""

    model = ClaimLine
    form = ClaimLineAdminForm
    extra = 0
    fields = [
        "date_of_service",
        "hcpcs",
        "modifiers",
        "units",
        "charge",
        "diagnosis_pointers",
        "description",
        "allowed_amount",
        "paid_amount",
        "authorization",
    ]
    readonly_fields = ["allowed_amount", "paid_amount", "authorization"]
    ordering = ["line_number"]

    def get_extra(self, request, obj=None, **kwargs):
        return 1 if obj is None else 0

    def _editable(self, obj):
        return obj is None or obj.is_editable

    def has_add_permission(self, request, obj=None):
        return self._editable(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._editable(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._editable(obj) and super().has_delete_permission(request, obj)


class AllocationOnClaimInline(ReadOnlyAdminMixin, TenantInlineMixin, admin.TabularInline):
    model = PaymentAllocation
    fk_name = "claim"
    extra = 0
    verbose_name_plural = "payments posted"
    fields = ["payment", "claim_line", "amount", "adjustments_display"]
    readonly_fields = fields

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("payment", "claim_line")
            .prefetch_related("adjustments")
        )

    @admin.display(description="adjustments")
    def adjustments_display(self, obj):
        return "; ".join(f"{a.group}-{a.code} {a.amount}" for a in obj.adjustments.all()) or "-"


@admin.register(Claim)
class ClaimAdmin(ServiceErrorsInFormMixin, BillingAdmin):
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
    ]
    list_filter = ["status", "payer", AgeBucketFilter, DenialCodeFilter]
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
        "void",
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
    ]

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
        return [
            (None, {"fields": ["number", "status", "payer", *header]}),
            (
                "Money",
                {
                    "fields": [
                        ("total_charge", "allowed_amount"),
                        ("paid_amount", "patient_responsibility"),
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
            ("Billed from", {"fields": ["order", "rental", "rental_month"]}),
        ]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and not obj.is_editable:
            return [*self.READONLY, "patient", *CORRECTABLE_FIELDS]
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

    def has_delete_permission(self, request, obj=None):
        # Claims are kept 7 years: void instead.
        return False

    # Columns ------------------------------------------------------------------------

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
            {name: f.cleaned_data[name] for name in ClaimLineAdminForm.Meta.fields}
            for f in sorted(line_forms, key=lambda f: f.instance.line_number or 10_000)
        ]
        obj = form.instance
        if not change:
            claim = services.create_claim(
                company=obj.company if obj.company_id else get_active_company(request.user),
                patient=obj.patient,
                coverage=obj.coverage,
                billing_location=obj.billing_location,
                referring_provider=obj.referring_provider,
                diagnosis_codes=obj.diagnosis_codes,
                lines=lines,
            )
            # The admin goes on with ``obj`` (messages, history, redirect).
            obj.pk, obj.number, obj._state.adding = claim.pk, claim.number, False
            return
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

    def _action_page(self, request, queryset, form, *, action, title, intro, submit_label):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": title,
            "intro": intro,
            "claims": queryset.select_related("patient", "payer"),
            "form": form,
            "action": action,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "submit_label": submit_label,
        }
        return TemplateResponse(request, "admin/hme/action_form.html", context)

    def _input(self, request, form_class, **kwargs):
        """The action's form: bound when its page was posted (``apply``)."""
        if "apply" in request.POST:
            return form_class(request.POST, **kwargs)
        return form_class(**kwargs)

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
        description="Submit past the timely filing limit (override, Billing)...",
        permissions=["change"],
    )
    def submit_with_override(self, request, queryset):
        form = self._input(request, OverrideForm)
        if form.is_bound and form.is_valid():
            reason = form.cleaned_data["override_reason"]
            run_service(
                self,
                request,
                queryset,
                lambda claim: services.submit_claim(claim, request.user, override_reason=reason),
                "claim(s) submitted",
            )
            return None
        return self._action_page(
            request,
            queryset,
            form,
            action="submit_with_override",
            title="Submit past the timely filing limit",
            intro="The reason, your name and the time are recorded on each claim. Claims "
            "still within the limit are submitted as usual.",
            submit_label="Submit",
        )

    @admin.action(description="Mark acknowledged by the payer (processing)", permissions=["change"])
    def mark_processing(self, request, queryset):
        run_service(self, request, queryset, services.mark_processing, "claim(s) now processing")

    @admin.action(description="Record approval (allowed amounts)...", permissions=["change"])
    def approve(self, request, queryset):
        claims = list(queryset.select_related("patient", "payer"))
        form = self._input(request, ApproveForm, claims=claims)
        if form.is_bound and form.is_valid():
            run_service(
                self,
                request,
                claims,
                lambda claim: services.approve_claim(claim, allowed=form.allowed(claim)),
                "claim(s) approved",
            )
            return None
        return self._action_page(
            request,
            queryset,
            form,
            action="approve",
            title="Record the payer's approval",
            intro="Give each claim's allowed amount as on the remittance; it is spread over "
            "the lines in proportion to their charges.",
            submit_label="Approve",
        )

    @admin.action(description="Record denial (CARC reason)...", permissions=["change"])
    def deny(self, request, queryset):
        form = self._input(request, DenyForm)
        if form.is_bound and form.is_valid():
            data = form.cleaned_data
            run_service(
                self,
                request,
                queryset,
                lambda claim: services.deny_claim(claim, data["group"], data["code"], data["text"]),
                "claim(s) denied",
            )
            return None
        return self._action_page(
            request,
            queryset,
            form,
            action="deny",
            title="Record the payer's denial",
            intro="The group and reason code (CARC) as on the remittance, e.g. CO-50 (not "
            "medically necessary), CO-16 (missing information).",
            submit_label="Deny",
        )

    @admin.action(description="Resubmit corrected denied claims...", permissions=["change"])
    def resubmit(self, request, queryset):
        form = self._input(request, ResubmitForm)
        if form.is_bound and form.is_valid():
            data = form.cleaned_data
            run_service(
                self,
                request,
                queryset,
                lambda claim: services.resubmit_claim(
                    claim,
                    data["correction_note"],
                    request.user,
                    override_reason=data["override_reason"] or None,
                ),
                "claim(s) resubmitted",
            )
            return None
        return self._action_page(
            request,
            queryset,
            form,
            action="resubmit",
            title="Resubmit corrected claims",
            intro="Correct each claim first (open it and edit its lines or diagnoses); the "
            "note says what was corrected.",
            submit_label="Resubmit",
        )

    @admin.action(description="Void...", permissions=["change"])
    def void(self, request, queryset):
        form = self._input(request, VoidForm)
        if form.is_bound and form.is_valid():
            reason = form.cleaned_data["reason"]
            run_service(
                self,
                request,
                queryset,
                lambda claim: services.void_claim(claim, reason),
                "claim(s) voided",
            )
            return None
        return self._action_page(
            request,
            queryset,
            form,
            action="void",
            title="Void claims",
            intro="A voided claim is kept, never billed again. Claims with payments posted "
            "cannot be voided.",
            submit_label="Void",
        )


# Payments ------------------------------------------------------------------------------------


class PostedAllocationInline(ReadOnlyAdminMixin, TenantInlineMixin, admin.TabularInline):
    """What is already posted from this payment: history, never edited."""

    model = PaymentAllocation
    fk_name = "payment"
    extra = 0
    verbose_name_plural = "posted allocations"
    fields = ["claim", "claim_line", "amount", "adjustments_display", "created_at", "created_by"]
    readonly_fields = fields

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
class PaymentAdmin(ServiceErrorsInFormMixin, BillingAdmin):
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
