from django.contrib import admin

from core.admin import TenantAdmin

from .models import PHIRecord


@admin.register(PHIRecord)
class PHIRecordAdmin(TenantAdmin):
    list_display = ["name", "location"]
    search_fields = ["^name"]
    list_select_related = ["location"]
