"""A patient-like model used only by the tests of the core PHI and tenancy pieces."""

from django.db import models

from core.models import TenantModel
from core.phi import (
    BlindIndexField,
    EncryptedCharField,
    EncryptedDateField,
    EncryptedTextField,
    normalize_date,
    normalize_identifier,
)


class PHIRecord(TenantModel):
    """Stands in for a patient: a plaintext name, an encrypted DOB and MBI."""

    name = models.CharField(max_length=100)
    dob = EncryptedDateField("date of birth")
    dob_bidx = BlindIndexField(source="dob", normalizer=normalize_date)
    mbi = EncryptedCharField("MBI", max_length=11, blank=True)
    mbi_bidx = BlindIndexField(source="mbi", normalizer=normalize_identifier)
    notes = EncryptedTextField(blank=True)
    location = models.ForeignKey(
        "accounts.Location", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    access_logged = True
    location_field = "location"

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name
