"""The admin's upload form of a usage export."""

from django import forms

from .choices import UsageSource
from .importing import MAX_BYTES


class UsageUploadForm(forms.Form):
    file = forms.FileField(
        label="Usage export (CSV)",
        help_text="AirView or Care Orchestrator nightly usage report, one row a night.",
    )
    serial = forms.CharField(
        label="Device serial number",
        max_length=64,
        required=False,
        help_text="Only if the file does not name the device or the patient.",
    )
    patient = forms.CharField(
        label="Patient number", max_length=20, required=False, help_text="P-000123"
    )
    source = forms.ChoiceField(
        choices=[("", "Detect from the file"), *UsageSource.choices], required=False
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_BYTES:
            raise forms.ValidationError(f"The file is larger than {MAX_BYTES // 1024} KB.")
        return upload
