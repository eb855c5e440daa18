"""Billing admin, fee schedules (what each payer allows) and the supplier's charge list.

Fee schedules are usually imported (``manage.py import_fee_schedule``); single entries
are corrected here. Billing reads them through ``hme.services.fees``.
"""

from django.contrib import admin

from core.admin import TenantAdmin

from ..models import FeeScheduleEntry, SupplierCharge


@admin.register(FeeScheduleEntry)
class FeeScheduleEntryAdmin(TenantAdmin):
    list_display = [
        "hcpcs",
        "modifier",
        "modifier2",
        "band",
        "payer",
        "state",
        "allowable",
        "effective_from",
        "effective_to",
    ]
    list_filter = ["payer", "band", "state", "effective_from"]
    list_select_related = ["payer"]
    search_fields = ["=hcpcs"]
    search_help_text = "HCPCS code (exact, as E0601)."
    autocomplete_fields = ["payer"]
    readonly_fields = ["source"]
    fields = [
        "payer",
        ("hcpcs", "modifier", "modifier2"),
        "band",
        "state",
        "allowable",
        ("effective_from", "effective_to"),
        "source",
    ]


@admin.register(SupplierCharge)
class SupplierChargeAdmin(TenantAdmin):
    list_display = ["hcpcs", "band", "charge"]
    list_filter = ["band"]
    search_fields = ["=hcpcs"]
    search_help_text = "HCPCS code (exact, as E0601)."
    fields = ["hcpcs", "band", "charge"]
