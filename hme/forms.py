"""Admin forms of the billing app: typed lists (codes, modifiers, pointers,
adjustments) in plain text, and the inputs of the claim actions."""

import re
from decimal import Decimal, InvalidOperation

from django import forms
from django.core.exceptions import ValidationError

from clinical.models.records import clean_icd10_list
from core.admin_actions import ServiceErrorFormMixin
from core.fields import HCPCSFormField
from core.validators import format_icd10

from .choices import AdjustmentGroup, normalize_carc, validate_carc
from .models import Authorization, Claim, ClaimLine, Coverage, Payment, PaymentAllocation
from .models.claims import clean_pointers
from .rules import clean_hcpcs_list
from .services.payments import POSTABLE_STATUSES

_SEPARATORS = re.compile(r"[\s,;]+")
_ADJUSTMENT = re.compile(
    r"^(?P<group>CO|PR|OA|PI)\s*-?\s*(?P<code>[A-Z]?\d{1,3})\s+\$?(?P<amount>[\d,]*\.?\d*)$",
    re.IGNORECASE,
)


def split_words(value):
    return [word for word in _SEPARATORS.split(value or "") if word]


class ICD10ListField(forms.CharField):
    """``G47.33, I10`` in, ``["G4733", "I10"]`` out; shown with dots."""

    def prepare_value(self, value):
        if isinstance(value, list):
            return ", ".join(format_icd10(code) for code in value)
        return value

    def to_python(self, value):
        try:
            return clean_icd10_list(split_words(super().to_python(value)))
        except ValidationError as error:
            raise ValidationError(error.messages) from error


class WordListField(forms.CharField):
    """``RR KH`` (or ``RR, KH``) in, ``["RR", "KH"]`` out."""

    def prepare_value(self, value):
        if isinstance(value, list):
            return " ".join(str(item) for item in value)
        return value

    def to_python(self, value):
        return [word.upper() for word in split_words(super().to_python(value))]


class PointerListField(WordListField):
    """``1, 2`` in, ``[1, 2]`` out (checked against the claim's diagnoses on save)."""

    def to_python(self, value):
        words = split_words(forms.CharField.to_python(self, value))
        try:
            pointers = [int(word) for word in words]
        except ValueError:
            raise ValidationError("Give positions as whole numbers, as in 1, 2.") from None
        return clean_pointers(pointers)


class HCPCSListField(WordListField):
    def to_python(self, value):
        try:
            return clean_hcpcs_list(split_words(forms.CharField.to_python(self, value)))
        except ValidationError as error:
            raise ValidationError(error.messages) from error


class ClaimAdminForm(ServiceErrorFormMixin, forms.ModelForm):
    diagnosis_codes = ICD10ListField(
        label="Diagnosis codes",
        help_text="ICD-10-CM codes of the patient's active diagnoses, in claim order, "
        "separated by commas, with or without the dot. Lines point at them by position "
        "(1 = the first).",
    )

    class Meta:
        model = Claim
        fields = "__all__"  # noqa: DJ007  (the admin passes its own field list)


class ClaimLineAdminForm(forms.ModelForm):
    hcpcs = HCPCSFormField(label="HCPCS")
    modifiers = WordListField(
        required=False,
        help_text="Up to four: RR/NU/UE on equipment, KH/KI/KJ on rental months, KX...",
    )
    diagnosis_pointers = PointerListField(help_text="1 to 4 positions, as 1, 2.")

    class Meta:
        model = ClaimLine
        fields = [
            "date_of_service",
            "hcpcs",
            "modifiers",
            "units",
            "charge",
            "diagnosis_pointers",
            "description",
        ]


class CoverageAdminForm(ServiceErrorFormMixin, forms.ModelForm):
    class Meta:
        model = Coverage
        fields = "__all__"  # noqa: DJ007
        widgets = {"member_id": forms.TextInput(attrs={"autocomplete": "off"})}


class AuthorizationAdminForm(forms.ModelForm):
    hcpcs_codes = HCPCSListField(label="HCPCS codes", help_text="As K0823, E0277.")

    class Meta:
        model = Authorization
        fields = "__all__"  # noqa: DJ007


class PaymentAdminForm(ServiceErrorFormMixin, forms.ModelForm):
    class Meta:
        model = Payment
        fields = "__all__"  # noqa: DJ007


def parse_adjustments(text):
    """``CO-45 100.00; PR-2 40`` -> ``[{"group": "CO", "code": "45", "amount": ...}]``."""
    adjustments, errors = [], []
    for part in re.split(r"[;\n]+", text or ""):
        part = part.strip()
        if not part:
            continue
        match = _ADJUSTMENT.match(part)
        if not match:
            errors.append(f"{part!r}: write group-code amount, as CO-45 100.00.")
            continue
        group, code = match["group"].upper(), normalize_carc(match["code"])
        try:
            validate_carc(group, code)
            amount = Decimal(match["amount"].replace(",", ""))
        except ValidationError as error:
            errors.extend(f"{part!r}: {message}" for message in error.messages)
            continue
        except InvalidOperation:
            errors.append(f"{part!r}: the amount is not a number.")
            continue
        if amount <= 0 or amount != amount.quantize(Decimal("0.01")):
            errors.append(f"{part!r}: the amount must be more than 0, in dollars and cents.")
            continue
        adjustments.append({"group": group, "code": code, "amount": amount})
    if errors:
        raise ValidationError(errors)
    return adjustments


class NewAllocationForm(forms.ModelForm):
    """One allocation of a payment: the claim, optionally its line, the amount paid and
    the adjustments. Posted through ``post_payment``, never saved directly."""

    line_number = forms.IntegerField(
        label="line", required=False, min_value=1, help_text="Empty: the whole claim."
    )
    adjustments = forms.CharField(
        required=False,
        widget=forms.TextInput(attrs={"size": 36}),
        help_text=f"Group-code amount, separated by ';': CO-45 100.00; PR-2 40.00 "
        f"(groups {', '.join(AdjustmentGroup.values)}).",
    )

    class Meta:
        model = PaymentAllocation
        fields = ["claim", "line_number", "amount", "adjustments"]

    def clean_adjustments(self):
        return parse_adjustments(self.cleaned_data.get("adjustments"))

    def clean(self):
        cleaned = super().clean()
        claim, number = cleaned.get("claim"), cleaned.get("line_number")
        cleaned["claim_line"] = None
        if claim is not None and number:
            line = claim.lines.filter(line_number=number).first()
            if line is None:
                self.add_error("line_number", f"Claim {claim.number} has no line {number}.")
            cleaned["claim_line"] = line
        return cleaned

    def allocation(self):
        data = self.cleaned_data
        return {
            "claim": data["claim"],
            "claim_line": data.get("claim_line"),
            "amount": data["amount"],
            "adjustments": data.get("adjustments") or [],
        }


class NewAllocationFormSet(forms.BaseInlineFormSet):
    """Checks the batch before posting: the same rules ``post_payment`` enforces under
    its lock, so a refusal is a form error with everything the user typed kept."""

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        payment = self.instance
        forms_ = [f for f in self.forms if f.has_changed() and not self._should_delete_form(f)]
        total = sum((f.cleaned_data.get("amount") or Decimal(0) for f in forms_), Decimal(0))
        left = (payment.amount or Decimal(0)) - (payment.allocated_amount or Decimal(0))
        if total > left:
            raise ValidationError(
                f"Over-posting: these allocations total ${total:,.2f}, but only ${left:,.2f} "
                "is left on this payment."
            )
        for form in forms_:
            claim = form.cleaned_data.get("claim")
            if claim is None:
                continue
            if payment.payer_id and claim.payer_id != payment.payer_id:
                form.add_error("claim", f"Claim {claim.number} is billed to {claim.payer}.")
            elif claim.status not in POSTABLE_STATUSES:
                form.add_error(
                    "claim",
                    f"Claim {claim.number} is {claim.get_status_display().lower()}: payments "
                    "post to approved claims.",
                )

    def allocations(self):
        return [
            form.allocation()
            for form in self.forms
            if form.has_changed() and not self._should_delete_form(form)
        ]


# Intermediate pages of the claim actions ---------------------------------------------------


class OverrideForm(forms.Form):
    override_reason = forms.CharField(
        label="Timely filing override reason",
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Why the claim may go past the payer's filing limit (recorded on each "
        "claim). Billing role or Administrator only.",
    )


class DenyForm(forms.Form):
    group = forms.ChoiceField(choices=AdjustmentGroup.choices, initial=AdjustmentGroup.CO)
    code = forms.CharField(
        label="Reason code (CARC)", max_length=3, help_text="As 50, 16, 108 or B7."
    )
    text = forms.CharField(
        label="Payer's reason",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Empty: the code's standard description.",
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("group") and cleaned.get("code"):
            cleaned["code"] = normalize_carc(cleaned["code"])
            try:
                validate_carc(cleaned["group"], cleaned["code"])
            except ValidationError as error:
                raise ValidationError(error.messages) from error
        return cleaned


class ResubmitForm(forms.Form):
    correction_note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="What was corrected (recorded on each claim).",
    )
    override_reason = forms.CharField(
        label="Timely filing override reason",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        help_text="Only when a claim is past the payer's filing limit (Billing role).",
    )


class ReplaceForm(forms.Form):
    reason = forms.CharField(
        label="What the replacement corrects",
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
    )


class VoidForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 60}))


class ApproveForm(forms.Form):
    """One allowed amount per selected claim, prefilled with its total charge."""

    def __init__(self, *args, claims=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.claims = list(claims)
        for claim in self.claims:
            self.fields[f"allowed_{claim.pk}"] = forms.DecimalField(
                label=f"Allowed for {claim.number}",
                max_digits=12,
                decimal_places=2,
                min_value=Decimal("0.01"),
                max_value=claim.total_charge,
                initial=claim.total_charge,
                help_text=f"At most the charge, {claim.total_charge}.",
            )

    def clean(self):
        cleaned = super().clean()
        # Keyed by claim for the action's service call; missing ones have field errors.
        cleaned["allowed"] = {
            claim.pk: cleaned[f"allowed_{claim.pk}"]
            for claim in self.claims
            if f"allowed_{claim.pk}" in cleaned
        }
        return cleaned
