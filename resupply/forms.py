"""The input of the "Record a contact..." action: channel, outcome, and per item of
the request what the patient still has and wants."""

from typing import Any

from django import forms

from .choices import ContactChannel, ContactOutcome


class ContactForm(forms.Form):
    channel = forms.ChoiceField(choices=ContactChannel.choices)
    outcome = forms.ChoiceField(choices=ContactOutcome.choices)
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)

    def __init__(self, *args: Any, items: list[Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.items = items or []
        for item in self.items:
            label = f"{item.hcpcs_code} {item.equipment.name}"
            self.fields[f"on_hand_{item.pk}"] = forms.IntegerField(
                label=f"{label}: still has", min_value=0, initial=0, required=False
            )
            self.fields[f"wanted_{item.pk}"] = forms.BooleanField(
                label=f"{label}: wants it", required=False, initial=True
            )
            self.fields[f"quantity_{item.pk}"] = forms.IntegerField(
                label=f"{label}: quantity (empty: the usual maximum less what is on hand)",
                min_value=0,
                required=False,
            )

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean() or {}
        if cleaned.get("outcome") == ContactOutcome.CONFIRMED and not self.items:
            raise forms.ValidationError(
                "Record a confirmation on one request at a time (its items are asked)."
            )
        return cleaned


def item_answers(data: dict[str, Any], items: list[Any]) -> dict[Any, dict[str, Any]]:
    """The per-item answers of a confirmation, from the form's cleaned data."""
    if data.get("outcome") != ContactOutcome.CONFIRMED:
        return {}
    return {
        item.pk: {
            "on_hand": data.get(f"on_hand_{item.pk}") or 0,
            "wanted": bool(data.get(f"wanted_{item.pk}")),
            "quantity": data.get(f"quantity_{item.pk}") or 0,
        }
        for item in items
        if f"wanted_{item.pk}" in data
    }
