"""Prescribers and clinicians."""

from typing import Any, ClassVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q

from core.models import TenantModel, TenantQuerySet
from core.validators import NPIValidator

from ..choices import Credential, Specialty

US_STATE = RegexValidator(r"^[A-Za-z]{2}$", "Use the two-letter state code, as in OH.")


class ProviderQuerySet(TenantQuerySet):
    def active(self):
        return self.filter(is_active=True)


class Provider(TenantModel):
    """A prescriber or clinician: who orders equipment and who sees the patients.

    A prescriber's NPI is what payers check on every order and claim, so it is
    validated (check digit) and unique within a company. Verification means staff
    checked the NPI and licence against NPPES and the state board; ``verified_at``
    says when.
    """

    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    npi = models.CharField(
        "NPI", max_length=10, validators=[NPIValidator()], help_text="10-digit individual NPI."
    )
    credential = models.CharField(max_length=8, choices=Credential.choices)
    specialty = models.CharField(max_length=32, choices=Specialty.choices)
    license_number = models.CharField("licence number", max_length=32, blank=True)
    license_state = models.CharField(
        "licence state", max_length=2, blank=True, validators=[US_STATE]
    )
    phone = models.CharField(max_length=30, blank=True)
    fax = models.CharField(max_length=30, blank=True)
    is_verified = models.BooleanField("verified", default=False)
    verified_at = models.DateTimeField("verified at", null=True, blank=True)
    is_active = models.BooleanField("active", default=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="staff user",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="provider_profiles",
        help_text="When the clinician also signs in (a staff respiratory therapist).",
    )

    objects: ClassVar = ProviderQuerySet.as_manager()

    class Meta:
        ordering = ["last_name", "first_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "npi"],
                name="provider_company_npi_uniq",
                violation_error_message="This company already has a provider with this NPI.",
            ),
            models.UniqueConstraint(
                fields=["company", "user"],
                condition=Q(user__isnull=False),
                name="provider_company_user_uniq",
                violation_error_message="This staff user is already linked to a provider.",
            ),
            models.CheckConstraint(
                condition=Q(is_verified=False) | Q(verified_at__isnull=False),
                name="provider_verified_has_date",
                violation_error_message="A verified provider needs the verification date.",
            ),
        ]
        indexes = [
            # Admin and API search: last-name prefix within a company, sorted by name.
            models.Index(fields=["company", "last_name", "first_name"], name="provider_name_idx"),
        ]

    def __str__(self):
        return f"{self.first_name} {self.last_name}, {self.credential}"

    @property
    def full_name(self):
        return f"{self.first_name} {self.last_name}"

    def clean(self):
        super().clean()
        self.license_state = self.license_state.upper()
        if self.license_state and not self.license_number:
            raise ValidationError(
                {"license_number": "Give the licence number along with its state."}
            )

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.license_state = self.license_state.upper()
        super().save(*args, **kwargs)
