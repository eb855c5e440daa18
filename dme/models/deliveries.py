"""Deliveries and their proof of delivery (docs/domain/dme.md).

A proof of delivery holds the patient's name, the delivery address, each item's
description and quantity (with the serial numbers handed over), the date received and
the signature of the patient or a designee (printed name and relationship). Supplier
staff never sign as designee. The delivery date is the date of service. Shipped items
carry the carrier's tracking number instead of a signature. Kept 7 years from the date
of service, so it is a snapshot: later catalogue or patient edits do not change it.
"""

import base64
import binascii
import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q

from core.models import TenantModel
from core.phi import EncryptedCharField, EncryptedTextField

from ..choices import DeliveryMethod, DeliveryStatus, SignerRelationship

# A PNG signature scribble is a few kilobytes; refuse photos of whole documents.
SIGNATURE_MAX_BYTES = 256 * 1024
_DATA_URL_RE = re.compile(r"^data:image/(png|jpeg|svg\+xml);base64,(?P<data>[A-Za-z0-9+/=\s]+)$")


def validate_signature_image(value: str | None) -> None:
    """A ``data:image/png;base64,...`` (or jpeg/svg) URL of at most 256 KB."""
    if not value:
        return
    match = _DATA_URL_RE.match(value)
    if not match:
        raise ValidationError(
            "Send the signature as a data URL: data:image/png;base64,...", code="invalid_signature"
        )
    try:
        raw = base64.b64decode(match.group("data"), validate=False)
    except (binascii.Error, ValueError) as error:
        raise ValidationError(
            "The signature is not valid base64.", code="invalid_signature"
        ) from error
    if len(raw) > SIGNATURE_MAX_BYTES:
        raise ValidationError(
            f"The signature image is larger than {SIGNATURE_MAX_BYTES // 1024} KB.",
            code="signature_too_large",
        )


class Delivery(TenantModel):
    """Getting an order to the patient: when, where, by whom, and the proof.

    Created by ``schedule_delivery`` (status scheduled), completed by
    ``complete_delivery`` with the proof of delivery. The address is encrypted;
    the signature image, when captured, is an encrypted data URL, never a public file.
    """

    order = models.ForeignKey("dme.Order", on_delete=models.PROTECT, related_name="deliveries")
    status = models.CharField(
        max_length=16,
        choices=DeliveryStatus.choices,
        default=DeliveryStatus.SCHEDULED,
        editable=False,
    )
    method = models.CharField(
        max_length=16, choices=DeliveryMethod.choices, default=DeliveryMethod.DRIVER
    )
    scheduled_date = models.DateField("scheduled date")
    window_start = models.TimeField("window from", null=True, blank=True)
    window_end = models.TimeField("window to", null=True, blank=True)
    address = EncryptedTextField(
        "delivery address", help_text="Street, city, state and ZIP, as on the label."
    )
    driver = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="dme_deliveries",
    )
    carrier = models.CharField(max_length=64, blank=True, help_text="Shipped items: UPS, FedEx...")
    tracking_number = models.CharField("tracking number", max_length=64, blank=True)
    instructions = EncryptedTextField(blank=True, help_text="Access codes, parking, contact.")
    # Proof of delivery, filled by complete_delivery. -------------------------------
    patient_name = models.CharField("patient name", max_length=201, blank=True, editable=False)
    delivered_on = models.DateField(
        "date received", null=True, blank=True, editable=False, help_text="Date of service."
    )
    signer_name = EncryptedCharField(
        "signed by (printed name)", max_length=200, blank=True, editable=False
    )
    signer_relationship = models.CharField(
        "signer's relationship to the patient",
        max_length=32,
        choices=SignerRelationship.choices,
        blank=True,
        editable=False,
    )
    signed_at = models.DateTimeField("signed at", null=True, blank=True, editable=False)
    signature_image = EncryptedTextField(
        "signature image", blank=True, editable=False, validators=[validate_signature_image]
    )
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    cancelled_at = models.DateTimeField("cancelled at", null=True, blank=True, editable=False)

    access_logged = True
    location_field = "order__location"
    patient_field = "order__patient_id"

    class Meta:
        verbose_name_plural = "deliveries"
        ordering = ["-scheduled_date", "-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(window_start__isnull=True)
                | Q(window_end__isnull=True)
                | Q(window_end__gt=F("window_start")),
                name="delivery_window_ends_after_start",
                violation_error_message="The delivery window must end after it starts.",
            ),
            models.UniqueConstraint(
                fields=["order"],
                condition=Q(status__in=[DeliveryStatus.SCHEDULED, DeliveryStatus.DELIVERED]),
                name="delivery_one_open_per_order",
                violation_error_message="This order already has a scheduled or completed delivery.",
            ),
            models.CheckConstraint(
                condition=~Q(status=DeliveryStatus.DELIVERED) | Q(delivered_on__isnull=False),
                name="delivery_delivered_has_date",
                violation_error_message="A completed delivery needs the date received.",
            ),
        ]
        indexes = [
            # The dispatch board: deliveries of a day, by status (?scheduled_date_after=).
            models.Index(
                fields=["company", "scheduled_date", "status"], name="delivery_schedule_idx"
            ),
            # A driver's run (?driver=).
            models.Index(fields=["driver", "scheduled_date"], name="delivery_driver_idx"),
            # The cursor of the API list (-created_at, -id).
            models.Index(fields=["company", "created_at", "id"], name="delivery_created_idx"),
            # The data-quality window: rows changed since the last passed run
            # (core.quality.checks.changed_rows).
            models.Index(fields=["updated_at"], name="delivery_updated_idx"),
        ]

    def __str__(self):
        return f"Delivery of {self.order} on {self.scheduled_date}"

    def clean(self):
        super().clean()
        if self.method == DeliveryMethod.SHIPPED and not self.carrier:
            raise ValidationError({"carrier": "Name the carrier of a shipped delivery."})
        if (
            self.driver_id
            and self.company_id
            and not self.driver.memberships.filter(
                company_id=self.company_id, is_active=True
            ).exists()
        ):
            raise ValidationError({"driver": "The driver must be staff of your company."})


class DeliveryItem(TenantModel):
    """One line of a proof of delivery: the item as described then, the quantity
    handed over and the serial numbers of the units."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="items")
    order_line = models.ForeignKey(
        "dme.OrderLine", on_delete=models.PROTECT, related_name="delivery_items"
    )
    description = models.CharField("item description", max_length=400)
    quantity = models.PositiveIntegerField()
    serial_numbers = models.JSONField("serial numbers", default=list, blank=True)

    access_logged = True

    class Meta:
        indexes = [
            # The data-quality window: rows changed since the last passed run
            # (core.quality.checks.changed_rows).
            models.Index(fields=["updated_at"], name="deliveryitem_updated_idx"),
        ]
        ordering = ["delivery", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["delivery", "order_line"],
                name="deliveryitem_one_per_line",
                violation_error_message="This line is already on the proof of delivery.",
            ),
            models.CheckConstraint(
                condition=Q(quantity__gt=0),
                name="deliveryitem_quantity_positive",
                violation_error_message="A delivered quantity is at least 1.",
            ),
        ]

    def __str__(self):
        return f"{self.quantity} x {self.description}"
