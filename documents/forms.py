"""Admin forms: the document upload, a fax upload, filing a fax, sending for signature."""

from typing import Any

from django import forms
from django.conf import settings

from core.admin_actions import ServiceErrorFormMixin
from core.exceptions import ServiceError

from . import files
from .choices import AttachmentTransmission, DocumentKind
from .models import Document, FaxIntake, LegalHold

UPLOAD_HELP = (
    f"PDF, TIFF, PNG or JPEG (checked by content), at most "
    f"{settings.DOCUMENT_MAX_BYTES // (1024 * 1024)} MB. Stored encrypted."
)


def checked_upload(form: forms.BaseForm, field: str = "upload") -> files.CheckedFile | None:
    upload = form.cleaned_data.get(field)
    if upload is None:
        return None
    try:
        return files.check_file(upload)
    except ServiceError as error:
        form.add_error(field, error.message)
        return None


class DocumentAddForm(ServiceErrorFormMixin, forms.ModelForm):
    """A new document: the file, its kind and what it is about."""

    upload = forms.FileField(label="file", help_text=UPLOAD_HELP)

    class Meta:
        model = Document
        fields = ["patient", "kind", "order", "delivery", "claim", "prescriber", "description"]

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        self.checked = checked_upload(self)
        return cleaned


class DocumentChangeForm(ServiceErrorFormMixin, forms.ModelForm):
    class Meta:
        model = Document
        fields = ["kind", "order", "delivery", "claim", "prescriber", "description"]


class FaxUploadForm(forms.ModelForm):
    """A fax received some other way (scanned, e-mailed): into the intake inbox."""

    upload = forms.FileField(label="fax file", help_text=UPLOAD_HELP)

    class Meta:
        model = FaxIntake
        fields: list[str] = []

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        self.checked = checked_upload(self)
        return cleaned


class FileIntakeForm(forms.Form):
    """The clerk's decision on a fax: whose, what, which pages."""

    patient: forms.ModelChoiceField = forms.ModelChoiceField(queryset=None)
    kind = forms.ChoiceField(choices=DocumentKind.choices)
    pages = forms.CharField(
        required=False, help_text="Pages to file, as 1-3, 5. Empty: every page not yet filed."
    )
    prescriber: forms.ModelChoiceField = forms.ModelChoiceField(queryset=None, required=False)
    order: forms.ModelChoiceField = forms.ModelChoiceField(queryset=None, required=False)

    def __init__(self, *args: Any, user: Any = None, initial_from: Any = None, **kwargs: Any):
        from clinical.models import Patient, Provider
        from dme.models import Order

        if initial_from is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "patient": initial_from.suggested_patient_id,
                "prescriber": initial_from.suggested_prescriber_id,
                "kind": initial_from.suggested_kind or DocumentKind.OTHER,
            }
        super().__init__(*args, **kwargs)
        self.fields["patient"].queryset = Patient.objects.for_user(user)  # type: ignore[attr-defined]
        self.fields["prescriber"].queryset = Provider.objects.for_user(user)  # type: ignore[attr-defined]
        self.fields["order"].queryset = Order.objects.for_user(user)  # type: ignore[attr-defined]


class SigningForm(forms.Form):
    email = forms.EmailField(
        label="prescriber's e-mail", help_text="The single-use signing link goes there."
    )


class AttachmentSentForm(forms.Form):
    transmission = forms.ChoiceField(choices=AttachmentTransmission.choices)
    control_number = forms.CharField(
        required=False, max_length=50, help_text="As on the cover sheet; empty: generated."
    )


class LegalHoldForm(forms.ModelForm):
    class Meta:
        model = LegalHold
        fields = ["patient", "claim", "reason"]
