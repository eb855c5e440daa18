"""Admin forms of purchasing, receiving, transfers, unit life and counts (issue 20)."""

from typing import Any

from django import forms

from accounts.models import Location
from clinical.models import Patient

from .choices import AssetStatus
from .models import PurchaseOrderLine
from .services.purchasing import SERIAL_MAX, ReceiveItem


class ReceiveForm(forms.Form):
    """Receive a purchase order: one row per line still due, a quantity (serialized
    items: one serial field per unit, each taking one scan), a lot number and expiry
    date for lot-tracked supplies, and the cost (default: the ordered cost)."""

    packing_slip = forms.CharField(max_length=64, required=False)

    def __init__(self, *args: Any, lines: list[PurchaseOrderLine], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lines = [line for line in lines if line.backordered > 0]
        self.rows: list[dict[str, Any]] = []
        for index, line in enumerate(self.lines):
            equipment = line.equipment
            row: dict[str, Any] = {"line": line, "index": index, "serials": []}
            if equipment.is_serialized:
                for k in range(line.backordered):
                    name = f"line_{index}_serial_{k}"
                    self.fields[name] = forms.CharField(
                        label=f"Serial {k + 1}",
                        max_length=SERIAL_MAX,
                        required=False,
                        widget=forms.TextInput(
                            attrs={"data-scan": "1", "autocomplete": "off", "size": 24}
                        ),
                    )
                    row["serials"].append(name)
            else:
                name = f"line_{index}_quantity"
                self.fields[name] = forms.IntegerField(
                    label="Quantity",
                    min_value=0,
                    max_value=line.backordered,
                    initial=line.backordered,
                    widget=forms.NumberInput(attrs={"data-scan": "1", "size": 6}),
                )
                row["quantity"] = name
            if equipment.is_lot_tracked:
                self.fields[f"line_{index}_lot"] = forms.CharField(
                    label="Lot",
                    max_length=64,
                    required=False,
                    widget=forms.TextInput(attrs={"data-scan": "1", "autocomplete": "off"}),
                )
                self.fields[f"line_{index}_expiry"] = forms.DateField(
                    label="Expiry", required=False, widget=forms.DateInput(attrs={"type": "date"})
                )
                row["lot"], row["expiry"] = f"line_{index}_lot", f"line_{index}_expiry"
            self.fields[f"line_{index}_cost"] = forms.DecimalField(
                label="Unit cost",
                min_value=0,
                max_digits=12,
                decimal_places=2,
                initial=line.unit_cost,
                required=False,
            )
            row["cost"] = f"line_{index}_cost"
            self.rows.append(row)

    def bound_rows(self) -> list[dict[str, Any]]:
        """The rows with their bound fields, for the template."""
        return [
            {
                "line": row["line"],
                "serials": [self[name] for name in row["serials"]],
                "quantity": self[row["quantity"]] if "quantity" in row else None,
                "lot": self[row["lot"]] if "lot" in row else None,
                "expiry": self[row["expiry"]] if "expiry" in row else None,
                "cost": self[row["cost"]],
            }
            for row in self.rows
        ]

    def items(self) -> list[ReceiveItem]:
        data = self.cleaned_data
        items = []
        for row in self.rows:
            line = row["line"]
            serials = [data[name].strip().upper() for name in row["serials"] if data.get(name)]
            quantity = len(serials) if line.equipment.is_serialized else data[row["quantity"]] or 0
            items.append(
                ReceiveItem(
                    line_id=line.pk,
                    quantity=quantity,
                    unit_cost=data.get(row["cost"]),
                    serial_numbers=serials,
                    lot_number=data.get(row.get("lot", ""), "") or "",
                    expiry_date=data.get(row.get("expiry", "")),
                )
            )
        return items

    def add_service_errors(self, fields: dict[str, Any]) -> None:
        """Put the service's ``lines.N.field`` errors beside the fields of row N."""
        items = [item for item in self.items() if item.quantity]
        for key, messages in fields.items():
            parts = key.split(".")
            if len(parts) != 3 or not parts[1].isdigit() or int(parts[1]) >= len(items):
                self.add_error(None, "; ".join(map(str, messages)))
                continue
            line_id = items[int(parts[1])].line_id
            row = next(r for r in self.rows if r["line"].pk == line_id)
            target = {
                "serial_numbers": (row["serials"] or [None])[0],
                "quantity": row.get("quantity") or (row["serials"] or [None])[0],
                "lot_number": row.get("lot"),
                "expiry_date": row.get("expiry"),
                "unit_cost": row["cost"],
            }.get(parts[2])
            for message in messages:
                self.add_error(target, f"{row['line'].equipment.name}: {message}")


LIFE_CHOICES = [
    (AssetStatus.SOLD, "Sold (title passed or purchased)"),
    (AssetStatus.LOST, "Lost"),
    (AssetStatus.JUNKED, "Junked"),
    (AssetStatus.TRANSFERRED_OUT, "Transferred out of the company"),
    (AssetStatus.ON_LOAN, "Lent to a patient"),
    (AssetStatus.IN_STOCK, "Back in stock (found, or loaner returned)"),
]


class UnitLifeForm(forms.Form):
    status = forms.ChoiceField(choices=LIFE_CHOICES, label="New status")
    reason = forms.CharField(max_length=200)
    patient_number = forms.CharField(
        max_length=16,
        required=False,
        label="Patient number",
        help_text="Who borrows or buys it (P-000123).",
    )
    location = forms.ModelChoiceField(
        queryset=Location.objects.none(), required=False, help_text="Where it is back in stock."
    )

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        locations: Any = self.fields["location"]
        locations.queryset = Location.objects.for_user(user).filter(is_active=True)

    def clean_patient_number(self) -> Patient | None:
        number = self.cleaned_data["patient_number"].strip().upper()
        if not number:
            return None
        patient = Patient.objects.for_user(self.user).filter(number=number).first()
        if patient is None:
            raise forms.ValidationError("No patient of yours has this number.")
        return patient


class SerialLookupForm(forms.Form):
    serial = forms.CharField(
        max_length=SERIAL_MAX,
        label="Serial number",
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "off"}),
    )


class CountSheetOpenForm(forms.Form):
    notes = forms.CharField(max_length=500, required=False)
