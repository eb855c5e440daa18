"""The inline of the patient's admin page: the diagnoses, edited with the patient.

The read-only context around a patient (appointments, records, open alerts) is shown
as panels (``clinical/admin_panels.py``): a table per list, not a formset per row."""

from django import forms
from django.contrib import admin

from core.admin import TenantInlineMixin
from core.phi import EncryptedTextField

from .models import Diagnosis


class DiagnosisInline(TenantInlineMixin, admin.TabularInline):
    model = Diagnosis
    extra = 0
    fields = ["code", "description", "onset_date", "is_active"]
    formfield_overrides = {EncryptedTextField: {"widget": forms.TextInput(attrs={"size": 60})}}
