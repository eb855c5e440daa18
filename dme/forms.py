"""Forms of the staff (admin) pages: the inputs of actions that need more than a click,
and the proof of delivery."""

import re

from django import forms
from django.utils import timezone

from accounts.models import Location, User
from core.admin_actions import ServiceErrorFormMixin

from .choices import DeliveryMethod, SignerRelationship

SERIAL_SPLIT = re.compile(r"[\s,;]+")


class ModifiersFormField(forms.CharField):
    """HCPCS modifiers typed as ``RR, KX`` (or ``rr kx``); the model validates them."""

    def prepare_value(self, value):
        if isinstance(value, list | tuple):
            return ", ".join(value)
        return value

    def to_python(self, value):
        text = super().to_python(value) or ""
        return [part.upper() for part in SERIAL_SPLIT.split(text.strip()) if part]

    def has_changed(self, initial, data):
        return self.prepare_value(initial or []) != self.prepare_value(self.to_python(data))


class OrderLineForm(forms.ModelForm):
    modifiers = ModifiersFormField(
        required=False, max_length=20, help_text="Up to four, as RR, KX."
    )

    class Meta:
        fields = [
            "equipment",
            "quantity",
            "kind",
            "modifiers",
            "unit_price",
            "rent_to_purchase_price",
            "recurrence_months",
        ]


class AssetAdminForm(ServiceErrorFormMixin, forms.ModelForm):
    """A unit's admin form: a refusal of ``services.register_asset`` shows on it."""

    class Meta:
        fields = [
            "company",
            "equipment",
            "serial_number",
            "location",
            "purchase_date",
            "purchase_cost",
            "warranty_ends_on",
            "notes",
        ]


class MaintenanceRecordForm(ServiceErrorFormMixin, forms.ModelForm):
    """A new row of a unit's maintenance log (its admin page). The row is saved through
    ``services.log_maintenance``; its refusal (a retired unit, a future date) comes back
    on this row with what was typed."""

    class Meta:
        fields = ["performed_on", "kind", "work_done", "performed_by"]


class ScheduleDeliveryForm(forms.Form):
    scheduled_date = forms.DateField(
        initial=timezone.localdate, widget=forms.DateInput(attrs={"type": "date"})
    )
    window_start = forms.TimeField(required=False, widget=forms.TimeInput(attrs={"type": "time"}))
    window_end = forms.TimeField(required=False, widget=forms.TimeInput(attrs={"type": "time"}))
    method = forms.ChoiceField(choices=DeliveryMethod.choices, initial=DeliveryMethod.DRIVER)
    driver = forms.ModelChoiceField(queryset=User.objects.none(), required=False)
    carrier = forms.CharField(required=False, max_length=64, help_text="Shipped: UPS, FedEx...")
    tracking_number = forms.CharField(required=False, max_length=64)
    # The service refuses a patient with no address on file: the address is typed here,
    # beside its error, instead of the form being left for another page.
    address = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Empty: the patient's address on file.",
    )
    instructions = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Access codes, parking, contact.",
    )

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["driver"].queryset = User.objects.for_user(user).filter(is_active=True)


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 2}))


class OptionalReasonForm(forms.Form):
    reason = forms.CharField(
        max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class StockAdjustmentForm(forms.Form):
    delta = forms.IntegerField(help_text="Units to add (positive) or remove (negative).")
    reason = forms.CharField(max_length=200, help_text="Count, receipt, damage...")


class RentalReturnForm(forms.Form):
    returned_on = forms.DateField(
        label="Picked up on",
        initial=timezone.localdate,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    location = forms.ModelChoiceField(
        queryset=Location.objects.none(), help_text="Where the equipment goes back to."
    )
    picked_up_by = forms.ModelChoiceField(
        queryset=User.objects.none(), required=False, help_text="Empty: you."
    )
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["location"].queryset = Location.objects.for_user(user).filter(is_active=True)
        self.fields["picked_up_by"].queryset = User.objects.for_user(user).filter(is_active=True)


class ProofOfDeliveryForm(forms.Form):
    """The proof of delivery of one delivery: who signed, when, and per line the
    serial numbers handed over (prefilled with the units reserved for it)."""

    delivered_on = forms.DateField(
        label="Date received",
        initial=timezone.localdate,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    signer_name = forms.CharField(label="Signed by (printed name)", max_length=200, required=False)
    signer_relationship = forms.ChoiceField(
        label="Relationship to the patient",
        choices=[("", "---------"), *SignerRelationship.choices],
        required=False,
        help_text="Supplier staff never sign for the patient.",
    )
    tracking_number = forms.CharField(
        max_length=64, required=False, help_text="Shipped deliveries: the carrier's number."
    )
    # Filled by the signature pad (static/cockpit/signature_pad.js) as a PNG data URL;
    # the service validates it (dme.models.deliveries.validate_signature_image).
    signature_image = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, delivery, lines, reserved_serials, **kwargs):
        super().__init__(*args, **kwargs)
        self.delivery = delivery
        self.lines = lines
        if delivery.tracking_number:
            self.fields["tracking_number"].initial = delivery.tracking_number
        for line in lines:
            if line.equipment.is_serialized:
                self.fields[self.serial_field(line)] = forms.CharField(
                    label=(
                        f"{line.equipment.item_description}: "
                        f"{line.reserved_quantity} unit(s), serial numbers"
                    ),
                    initial=", ".join(reserved_serials.get(line.pk, [])),
                    required=False,
                )

    @staticmethod
    def serial_field(line):
        return f"serials_{line.pk.hex}"

    def items(self):
        return [
            {
                "order_line": line,
                "quantity": line.reserved_quantity,
                "serial_numbers": [
                    s
                    for s in SERIAL_SPLIT.split(self.cleaned_data.get(self.serial_field(line), ""))
                    if s
                ],
            }
            for line in self.lines
        ]

    def add_service_errors(self, fields):
        """Put a ServiceError's field messages on the matching form fields."""
        for name, messages in fields.items():
            if name == "items":
                rows = messages.items() if isinstance(messages, dict) else enumerate(messages)
                for index, errors in rows:
                    if not isinstance(errors, dict):
                        self.add_error(None, errors)
                        continue
                    line = self.lines[int(index)]
                    for message in (m for ms in errors.values() for m in ms):
                        target = self.serial_field(line) if line.equipment.is_serialized else None
                        self.add_error(target, f"{line.equipment.name}: {message}")
            elif name in self.fields:
                self.add_error(name, messages)
            else:
                self.add_error(None, messages)


class NewMedicalNeedForm(forms.Form):
    """The prescriber's new order that starts a new rental period after a break in need
    (42 CFR 414.230)."""

    documented_on = forms.DateField(
        label="New order dated",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Date of the prescriber's new order documenting the new medical need.",
    )
