"""Billing admin, the payers (deactivated, never deleted)."""

from django.contrib import admin

from core.admin import TenantAdmin

from ..models import Payer


@admin.register(Payer)
class PayerAdmin(TenantAdmin):
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
