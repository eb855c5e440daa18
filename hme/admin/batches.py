"""Billing admin, EDI: 837P batches (create from the claims list, rebuild, send, download)
and the inbound files (999, 277CA). Every change goes through
``hme.services.submission``; every download of a file is access-logged."""

from django.contrib import admin, messages
from django.db.models import OuterRef, Subquery
from django.http import Http404, HttpRequest, StreamingHttpResponse
from django.urls import path, reverse
from django.utils.html import format_html

from accounts.tenancy import signed_in_user
from core.access import record_access
from core.admin import ReadOnlyAdminMixin, TenantAdmin, TenantInlineMixin, run_service
from core.choices import AccessAction, AccessVia
from core.exceptions import ServiceError

from ..models import Claim
from ..models.edi import BatchClaim, BatchClaimStatus, InboundFile, SubmissionBatch
from ..queues import clearinghouse_rejected
from ..services import submission


class BatchClaimInline(ReadOnlyAdminMixin, TenantInlineMixin, admin.TabularInline):
    model = BatchClaim
    extra = 0
    can_delete = False
    fields = ("claim", "frequency", "status", "status_codes", "reason", "payer_claim_number")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("claim")


@admin.register(SubmissionBatch)
class SubmissionBatchAdmin(TenantAdmin):
    list_display = [
        "number",
        "payer",
        "status",
        "claim_count",
        "total_charge",
        "interchange_control_number",
        "built_at",
        "sent_at",
        "acknowledged_at",
    ]
    list_filter = ["status", "payer"]
    list_select_related = ["payer"]
    search_fields = ["=number"]
    inlines = [BatchClaimInline]
    actions = ["send_now", "rebuild"]
    fields = (
        "number",
        "payer",
        "status",
        ("claim_count", "total_charge"),
        ("interchange_control_number", "group_control_number", "transaction_control_number"),
        "usage_indicator",
        ("file_name", "file_size"),
        "file_sha256",
        "download",
        ("built_at", "build_count"),
        ("sent_at", "sent_reference"),
        "send_error",
        "acknowledged_at",
        "rejection_reason",
    )
    readonly_fields = (
        "number",
        "payer",
        "status",
        "claim_count",
        "total_charge",
        "interchange_control_number",
        "group_control_number",
        "transaction_control_number",
        "usage_indicator",
        "file_name",
        "file_size",
        "file_sha256",
        "download",
        "built_at",
        "build_count",
        "sent_at",
        "sent_reference",
        "send_error",
        "acknowledged_at",
        "rejection_reason",
    )

    def has_add_permission(self, request, obj=None):
        # Batches are made from the claims list ("Create 837P batch").
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="837P file")
    def download(self, obj):
        if not obj.pk or not obj.file_name:
            return "-"
        url = reverse("admin:hme_submissionbatch_download", args=[obj.pk])
        return format_html('<a href="{}">Download {}</a> (logged)', url, obj.file_name)

    def get_urls(self):
        view = self.admin_site.admin_view(self.download_view)
        return [
            path("<uuid:pk>/download/", view, name="hme_submissionbatch_download"),
            *super().get_urls(),
        ]

    def download_view(self, request: HttpRequest, pk):
        batch = self.get_queryset(request).filter(pk=pk).first()
        if batch is None or not self.has_view_permission(request, batch):
            raise Http404("No such batch.")
        try:
            body = submission.batch_file(batch)
        except ServiceError as error:
            self.message_user(request, error.message, messages.ERROR)
            raise Http404(error.message) from None
        claims = list(Claim.objects.filter(edi_items__batch=batch))
        record_access(
            request, claims, via=AccessVia.ADMIN, action=AccessAction.EXPORT, fields=["837P file"]
        )
        response = StreamingHttpResponse(body, content_type="application/edi-x12")
        response["Content-Disposition"] = f'attachment; filename="{batch.file_name}"'
        response["Cache-Control"] = "no-store"
        return response

    @admin.action(description="Send to the clearinghouse now", permissions=["change"])
    def send_now(self, request, queryset):
        user = signed_in_user(request)
        run_service(
            self,
            request,
            queryset,
            lambda batch: submission.send_batch(batch, user=user),
            "batch(es) sent",
        )

    @admin.action(description="Rebuild the file (before it is sent)", permissions=["change"])
    def rebuild(self, request, queryset):
        user = signed_in_user(request)
        run_service(
            self,
            request,
            queryset,
            lambda batch: submission.rebuild_batch(batch, user=user),
            "batch(es) rebuilt",
        )


@admin.register(InboundFile)
class InboundFileAdmin(ReadOnlyAdminMixin, TenantAdmin):
    list_display = ["name", "status", "transaction_sets", "created_at"]
    list_filter = ["status"]
    search_fields = ["=name"]
    fields = ("name", "status", "transaction_sets", "sha256", "summary", "error", "created_at")
    readonly_fields = fields


# On the claims list -------------------------------------------------------------------


@admin.action(description="Create 837P batch (one per payer)", permissions=["change"])
def create_837p_batch(modeladmin, request, queryset):
    """The claims list action: the chosen claims in new 837P batches, or every reason
    they cannot be."""
    claims = list(queryset.select_related("company"))
    companies = {claim.company_id for claim in claims}
    if len(companies) != 1:
        modeladmin.message_user(
            request, "Choose claims of one company for a batch.", messages.ERROR
        )
        return
    try:
        batches = submission.create_batches(claims[0].company, claims, user=signed_in_user(request))
    except ServiceError as error:
        modeladmin.message_user(request, error.message, messages.ERROR)
        return
    modeladmin.message_user(
        request,
        "Created " + ", ".join(f"{b.number} ({b.claim_count} claim(s))" for b in batches) + ".",
        messages.SUCCESS,
    )


class ClearinghouseFilter(admin.SimpleListFilter):
    """The billing worklist's EDI view: claims the 999/277CA sent back, to correct."""

    title = "clearinghouse"
    parameter_name = "edi"

    def lookups(self, request, model_admin):
        return [
            ("rejected", "Rejected (999/277CA): to correct"),
            ("waiting", "Sent, waiting for the 277CA"),
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value not in ("rejected", "waiting"):
            return queryset
        if value == "rejected":
            return clearinghouse_rejected(queryset)
        latest = (
            BatchClaim.objects.filter(claim=OuterRef("pk"))
            .order_by("-created_at")
            .values("status")[:1]
        )
        queryset = queryset.annotate(edi_status=Subquery(latest))
        return queryset.filter(
            edi_status=BatchClaimStatus.INCLUDED, submitted_at__isnull=False, status="pending"
        )
