"""Resupply in the admin: the replacement rules (global defaults read-only, the
company's overrides editable) and the outreach worklist (docs/domain/resupply.md)."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils import timezone

from core.admin import TenantAdmin, TenantInlineMixin, run_service
from core.admin_actions import FormAction
from core.admin_buttons import Button, ChangeButtonsMixin
from core.tenancy import get_active_company

from . import services
from .choices import ACTIVE_STATUSES, RequestStatus
from .forms import ContactForm, item_answers
from .models import ReplacementRule, ResupplyContact, ResupplyRequest


@admin.register(ReplacementRule)
class ReplacementRuleAdmin(TenantAdmin):
    list_display = [
        "hcpcs_code",
        "description",
        "quantity",
        "months",
        "payer",
        "scope",
        "is_active",
    ]
    list_filter = ["is_active", "payer"]
    search_fields = ["=hcpcs_code"]
    list_select_related = ["payer", "company"]
    fields = ["hcpcs_code", "description", "quantity", "months", "payer", "source", "is_active"]
    autocomplete_fields = ["payer"]

    @admin.display(description="applies to")
    def scope(self, obj: ReplacementRule) -> str:
        if obj.company_id is None:
            return "Default (all companies)"
        return f"{obj.payer}" if obj.payer_id else "All our payers"

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.company_id is None and not request.user.is_superuser:
            return False  # the global defaults: copy one into an override instead
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.company_id is None and not request.user.is_superuser:
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if not change and obj.company_id is None and not request.user.is_superuser:
            obj.company = get_active_company(request.user)
        super().save_model(request, obj, form, change)


class ContactInline(TenantInlineMixin, admin.TabularInline):
    model = ResupplyContact
    extra = 0
    can_delete = False
    fields = ["contacted_at", "contacted_by", "channel", "outcome", "answers"]
    readonly_fields = [str(name) for name in fields]
    ordering = ["-contacted_at"]

    @admin.display(description="per item: still has / wants")
    def answers(self, obj: ResupplyContact) -> str:
        return "; ".join(
            f"{line.item.hcpcs_code}: has {line.on_hand}, "
            + (f"wants {line.quantity}" if line.wanted else "not wanted")
            for line in obj.lines.select_related("item")
        )

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _contact_form_kwargs(request: HttpRequest, rows: list[Any]) -> dict[str, Any]:
    if len(rows) != 1:
        return {"items": []}
    return {"items": list(rows[0].items.select_related("equipment").order_by("hcpcs_code"))}


def _record_contact(obj: ResupplyRequest, data: dict[str, Any], request: HttpRequest) -> Any:
    items = list(obj.items.all())
    return services.record_contact(
        obj,
        user=request.user,  # type: ignore[arg-type]
        channel=data["channel"],
        outcome=data["outcome"],
        items=item_answers(data, items),
        note=data.get("note") or "",
    )


def _active(obj: Any) -> bool:
    return obj.status in ACTIVE_STATUSES


def _confirmed(obj: Any) -> bool:
    return obj.status == RequestStatus.CONFIRMED


@admin.register(ResupplyRequest)
class ResupplyRequestAdmin(ChangeButtonsMixin, TenantAdmin):
    """The outreach worklist: requests to contact (open), confirmed ones to order."""

    list_display = [
        "patient",
        "due_on",
        "contact_from",
        "ship_from",
        "status",
        "attempts",
        "last_contact_at",
        "order",
    ]
    list_filter = ["status", ("due_on", admin.DateFieldListFilter)]
    list_select_related = ["patient", "order"]
    search_fields = ["=patient__number"]
    search_help_text = "Patient number (P-000123)."
    ordering = ["due_on", "id"]
    fields = [
        "patient",
        "status",
        "due_on",
        "contact_from",
        "ship_from",
        "due_items",
        "attempts",
        "last_contact_at",
        "outreach_sent_at",
        "order",
    ]
    readonly_fields = [str(name) for name in fields]
    inlines = [ContactInline]
    actions = ["record_contact", "make_order"]
    change_buttons = [
        Button("record_contact", when=_active),
        Button("make_order", when=_confirmed),
    ]

    record_contact = FormAction(
        description="Record a contact with the patient...",
        form_class=ContactForm,
        form_kwargs=_contact_form_kwargs,
        service=_record_contact,
        done="contact(s) recorded",
        title="Record a contact with the patient",
        intro=(
            "Who called is you, now. A confirmation records, per item, what the patient "
            "still has and whether they want it; nothing ships without it. Contact no "
            "sooner than 14 days before the supplies run out."
        ),
        select_related=["patient"],
        columns=[("Patient", lambda r: r.patient), ("Due", lambda r: r.due_on)],
    )

    @admin.action(description="Create the resupply order", permissions=["change"])
    def make_order(self, request: HttpRequest, queryset: Any) -> None:
        today = timezone.localdate()
        run_service(
            self,
            request,
            queryset,
            lambda obj: services.create_resupply_order(obj, as_of=today),
            "resupply order(s) created",
        )

    @admin.display(description="items due")
    def due_items(self, obj: ResupplyRequest) -> str:
        return ", ".join(
            f"{item.hcpcs_code} (eligible {item.supply_ends_on:%m/%d/%Y})"
            for item in obj.items.order_by("hcpcs_code")
        )

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the daily refresh opens requests (or the patient page's step)
