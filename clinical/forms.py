"""Admin forms: they check with the services, so a refused change is a form error."""

from django import forms
from django.core.exceptions import ValidationError

from accounts.tenancy import get_active_company
from core.exceptions import ServiceError
from core.validators import format_icd10

from . import services
from .models import Appointment, HealthInsight, MedicalRecord, Patient
from .models.records import clean_icd10_list


def _form_error(error):
    """A service's refusal as a form error (field messages when it has them)."""
    fields = {name: messages for name, messages in error.fields.items() if name != "__all__"}
    return ValidationError(fields or error.message)


class RequestFormMixin:
    """The admin sets ``request`` on the form class (``get_form``)."""

    request = None

    def active_company(self):
        company = self.cleaned_data.get("company") or getattr(self.instance, "company", None)
        if company is None and self.request is not None:
            company = get_active_company(self.request.user)
        return company


class PatientAdminForm(RequestFormMixin, forms.ModelForm):
    confirm_duplicate = forms.BooleanField(
        label="Confirm possible duplicate",
        required=False,
        help_text="Tick only after checking that the patient listed in the warning is "
        "another person with the same last name and date of birth.",
    )

    class Meta:
        model = Patient
        fields = "__all__"  # noqa: DJ007  (the admin passes its own field list)

    def clean(self):
        cleaned = super().clean()
        if self.instance._state.adding and not cleaned.get("confirm_duplicate"):
            numbers = services.find_possible_duplicates(
                self.active_company(), cleaned.get("last_name"), cleaned.get("dob")
            )
            if numbers:
                raise ValidationError(
                    services.duplicate_message(numbers), code="possible_duplicate"
                )
        return cleaned


class AppointmentAdminForm(forms.ModelForm):
    """Checks bookability and the provider's availability under the provider lock:
    the admin runs the form and the save in one transaction, so the lock holds until
    the appointment is saved."""

    class Meta:
        model = Appointment
        fields = "__all__"  # noqa: DJ007  (the admin passes its own field list)

    def clean(self):
        cleaned = super().clean()
        patient, provider = cleaned.get("patient"), cleaned.get("provider")
        starts_at, ends_at = cleaned.get("starts_at"), cleaned.get("ends_at")
        adding = self.instance._state.adding
        try:
            if not adding:
                services.ensure_reschedulable(self.instance, self.changed_data)
            if (
                patient
                and provider
                and (adding or {"patient", "provider"} & set(self.changed_data))
            ):
                services.ensure_bookable(patient, provider)
            blocks = adding or self.instance.blocks_provider
            if provider and starts_at and ends_at and ends_at > starts_at and blocks:
                services.ensure_provider_available(
                    provider, starts_at, ends_at, exclude=self.instance
                )
        except ServiceError as error:
            raise _form_error(error) from error
        return cleaned


class ICD10ListFormField(forms.CharField):
    """ICD-10-CM codes typed as ``G47.33, J44.9`` (commas or spaces)."""

    def prepare_value(self, value):
        if isinstance(value, list | tuple):
            return ", ".join(format_icd10(code) for code in value)
        return value

    def to_python(self, value):
        text = super().to_python(value) or ""
        codes = [part for part in text.replace(",", " ").split() if part]
        try:
            return clean_icd10_list(codes)
        except ValidationError as error:
            raise ValidationError(error.messages) from error


class MedicalRecordAdminForm(forms.ModelForm):
    diagnosis_codes = ICD10ListFormField(
        label="Diagnosis codes",
        required=False,
        help_text="ICD-10-CM codes separated by commas, as in G47.33, J44.9.",
    )

    class Meta:
        model = MedicalRecord
        fields = "__all__"  # noqa: DJ007  (the admin passes its own field list)


class HealthInsightAdminForm(forms.ModelForm):
    record_action = forms.CharField(
        label="Record action taken",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="What was done about this actionable insight (recorded once, with your "
        "name and the time).",
    )

    class Meta:
        model = HealthInsight
        fields = "__all__"  # noqa: DJ007  (the admin passes its own field list)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("record_action"):
            if not cleaned.get("is_actionable", self.instance.is_actionable):
                self.add_error("record_action", "This insight is informational: no action.")
            elif self.instance.action_taken_at is not None:
                self.add_error("record_action", "An action was already recorded.")
        return cleaned
