"""Notifications in the admin (docs/notifications.md): each company's staff see
their own sends, read-only: template, channel, status, attempts, the failure's
kind. The address and the body are never shown (the body is erased once sent)."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from .admin import ReadOnlyAdminMixin, TenantAdmin
from .notifications.models import Notification


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdminMixin, TenantAdmin):
    list_display = [
        "created_at",
        "template",
        "channel",
        "status",
        "attempts",
        "sent_at",
        "last_error",
    ]
    list_filter = ["status", "channel", "template", "created_at"]
    date_hierarchy = "created_at"
    fields = [
        "template",
        "channel",
        "status",
        "attempts",
        "last_error",
        "sent_at",
        "subject",
        "patient_link",
        "related_type",
        "related_id",
        "created_at",
    ]
    readonly_fields = [str(name) for name in fields]
    show_full_result_count = False

    @admin.display(description="patient")
    def patient_link(self, obj: Notification) -> str:
        if not obj.patient_id:
            return "-"
        url = reverse("admin:clinical_patient_change", args=[obj.patient_id])
        return format_html('<a href="{}">Open the patient</a>', url)
