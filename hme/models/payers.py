"""Payers, the patients' policies with them (coverage), and prior authorizations."""

from datetime import date
from typing import Any, ClassVar, Self

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from core.models import TenantModel, TenantQuerySet
from core.phi import BlindIndexField, EncryptedCharField, normalize_identifier
from core.validators import normalize_mbi, validate_mbi

from ..choices import AuthorizationStatus, CoveragePriority, PayerKind, SubscriberRelation
from ..rules import clean_hcpcs_list

US_STATE = RegexValidator(r"^[A-Za-z]{2}$", "Use the two-letter state code, as in OH.")
MEDICARE_TIMELY_FILING_DAYS = 365


def same_company_errors(instance, names):
    """Related rows must belong to the instance's company (defence in depth: forms and
    serializers already offer only the user's company's rows)."""
    if not instance.company_id:
        return {}
    errors = {}
    for name in names:
        if getattr(instance, f"{name}_id", None) and getattr(instance, name).company_id != (
            instance.company_id
        ):
            errors[name] = "Choose one of your company's records."
    return errors


class PayerQuerySet(TenantQuerySet):
    def active(self):
        return self.filter(is_active=True)


class Payer(TenantModel):
    """An insurer (or the patient, for self-pay) that claims are sent to.

    ``payer_id`` is the electronic payer ID of the clearinghouse (Medicare DME MAC
    jurisdiction B: 17003). ``timely_filing_days`` is how long after the date of
    service a claim may still be submitted (Medicare: 365 days).
    """

    name = models.CharField(max_length=200)
    payer_id = models.CharField(
        "payer ID",
        max_length=20,
        blank=True,
        help_text="Electronic payer ID (837 NM109); empty for self-pay.",
    )
    kind = models.CharField(max_length=16, choices=PayerKind.choices)
    timely_filing_days = models.PositiveIntegerField(
        "timely filing limit (days)",
        default=MEDICARE_TIMELY_FILING_DAYS,
        validators=[MinValueValidator(1)],
        help_text="Days after the date of service a claim may be submitted (Medicare 365).",
    )
    address_line1 = models.CharField("address", max_length=200, blank=True)
    address_line2 = models.CharField("address line 2", max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=2, blank=True, validators=[US_STATE])
    postal_code = models.CharField("ZIP code", max_length=10, blank=True)
    phone = models.CharField(max_length=30, blank=True)
    is_active = models.BooleanField("active", default=True)
    # EDI (837P 1000B receiver and ISA/GS receiver; docs/domain/edi.md). The receiver is
    # usually the clearinghouse the payer's claims go through.
    edi_receiver_name = models.CharField(
        "EDI receiver name", max_length=60, blank=True, help_text="837P 1000B NM103."
    )
    edi_receiver_id = models.CharField(
        "EDI receiver ID", max_length=80, blank=True, help_text="837P 1000B NM109 (ETIN)."
    )
    edi_isa_qualifier = models.CharField(
        "ISA receiver qualifier",
        max_length=2,
        default="ZZ",
        help_text="ISA07 (ZZ mutually defined).",
    )
    edi_isa_id = models.CharField(
        "ISA receiver ID",
        max_length=15,
        blank=True,
        help_text="ISA08 and GS03; empty: the EDI receiver ID.",
    )
    edi_claim_filing_code = models.CharField(
        "claim filing indicator",
        max_length=2,
        blank=True,
        help_text="SBR09; empty: from the kind (Medicare MB, Medicaid MC, VA VA, commercial CI).",
    )

    objects: ClassVar = PayerQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "name"],
                name="payer_company_name_uniq",
                violation_error_message="This company already has a payer with this name.",
            ),
            models.UniqueConstraint(
                fields=["company", "payer_id"],
                condition=~Q(payer_id=""),
                name="payer_company_payer_id_uniq",
                violation_error_message="This company already has a payer with this payer ID.",
            ),
            models.CheckConstraint(
                condition=Q(timely_filing_days__gte=1),
                name="payer_timely_filing_positive",
                violation_error_message="The timely filing limit is at least one day.",
            ),
        ]
        indexes = [
            # Admin list filter and API ?kind= within a company.
            models.Index(fields=["company", "kind"], name="payer_kind_idx"),
        ]

    def __str__(self):
        return self.name

    def clean(self):
        super().clean()
        self.state = self.state.upper()

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.state = self.state.upper()
        super().save(*args, **kwargs)


class CoverageQuerySet(TenantQuerySet):
    def active(self):
        return self.filter(is_active=True)

    def in_force_on(self, day: date) -> Self:
        """Policies whose period includes ``day`` (termination date inclusive)."""
        return self.filter(effective_date__lte=day).filter(
            Q(termination_date__isnull=True) | Q(termination_date__gte=day)
        )


def in_force(effective_date, termination_date, day):
    return effective_date <= day and (termination_date is None or day <= termination_date)


class Coverage(TenantModel):
    """A patient's insurance policy with one payer.

    The member ID (for Medicare the MBI, stored upper case without dashes) is encrypted
    with a blind index for exact lookups. ``is_active`` means *in force today*
    (effective date passed, termination date not yet): it is derived on every save and
    refreshed daily by ``hme.services.refresh_coverage_status``, because "today" cannot
    be a static database condition. It is what the partial unique constraint
    "one active coverage per patient and priority" holds on; ``clean()`` also refuses
    two policies of the same priority whose periods overlap, so next year's policy can
    be entered before this year's ends.
    """

    patient = models.ForeignKey(
        "clinical.Patient", on_delete=models.PROTECT, related_name="coverages"
    )
    payer = models.ForeignKey(Payer, on_delete=models.PROTECT, related_name="coverages")
    member_id = EncryptedCharField(
        "member ID", max_length=40, help_text="For Medicare, the MBI (as 1EG4-TE5-MK73)."
    )
    member_id_bidx = BlindIndexField(source="member_id", normalizer=normalize_identifier)
    group_number = models.CharField("group number", max_length=40, blank=True)
    priority = models.CharField(
        max_length=16, choices=CoveragePriority.choices, default=CoveragePriority.PRIMARY
    )
    effective_date = models.DateField("effective date")
    termination_date = models.DateField(
        "termination date", null=True, blank=True, help_text="Last day covered; empty if open."
    )
    subscriber_relation = models.CharField(
        "patient's relation to subscriber",
        max_length=16,
        choices=SubscriberRelation.choices,
        default=SubscriberRelation.SELF,
    )
    is_active = models.BooleanField(
        "in force today", default=False, editable=False, help_text="Derived from the dates."
    )
    verified_at = models.DateTimeField("eligibility verified at", null=True, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="eligibility verified by",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    objects: ClassVar = CoverageQuerySet.as_manager()

    access_logged = True

    class Meta:
        verbose_name_plural = "coverages"
        ordering = ["patient", "priority", "-effective_date"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "priority"],
                condition=Q(is_active=True),
                name="coverage_one_active_per_priority",
                violation_error_message=(
                    "This patient already has an active coverage of this priority: end it "
                    "(termination date) or choose another priority."
                ),
            ),
            models.CheckConstraint(
                condition=Q(termination_date__isnull=True)
                | Q(termination_date__gt=F("effective_date")),
                name="coverage_terminates_after_effective",
                violation_error_message="The termination date must be after the effective date.",
            ),
        ]
        indexes = [
            # A patient's policies on a date of service (claim creation).
            models.Index(fields=["patient", "priority", "effective_date"], name="coverage_dos_idx"),
            # Admin/API filters: payer and active within a company.
            models.Index(fields=["company", "payer", "is_active"], name="coverage_payer_idx"),
            # The data-quality window: rows changed since the last passed run
            # (core.quality.checks.changed_rows).
            models.Index(fields=["updated_at"], name="coverage_updated_idx"),
        ]

    def __str__(self):
        return f"{self.payer} ({self.get_priority_display().lower()})"

    @property
    def is_medicare(self):
        return self.payer_id is not None and self.payer.kind == PayerKind.MEDICARE

    @property
    def member_id_masked(self):
        """The last four characters only: what lists and messages may show."""
        value = self.member_id or ""
        return f"•••{value[-4:]}" if len(value) > 4 else "•••"

    def in_force_on(self, day):
        return in_force(self.effective_date, self.termination_date, day)

    def normalize(self):
        if self.member_id:
            self.member_id = (
                normalize_mbi(self.member_id) if self.is_medicare else self.member_id.strip()
            )

    def clean(self):
        super().clean()
        errors = same_company_errors(self, ["patient", "payer"])
        self.normalize()
        if self.member_id and self.payer_id and self.is_medicare:
            try:
                validate_mbi(self.member_id)
            except ValidationError as error:
                errors["member_id"] = [f"Medicare needs a valid MBI. {m}" for m in error.messages]
        if (
            self.patient_id
            and self.effective_date
            and (self.termination_date is None or self.termination_date > self.effective_date)
        ):
            overlapping = self.overlapping().first()
            if overlapping is not None:
                errors.setdefault("priority", []).append(
                    f"The patient's {self.get_priority_display().lower()} coverage with "
                    f"{overlapping.payer} ({overlapping.period}) overlaps these dates: end it "
                    "first or choose another priority."
                )
        if errors:
            raise ValidationError(errors)

    def overlapping(self):
        """The patient's other policies of this priority whose period meets this one's."""
        others = Coverage.objects.filter(patient_id=self.patient_id, priority=self.priority)
        if self.pk:
            others = others.exclude(pk=self.pk)
        others = others.filter(
            Q(termination_date__isnull=True) | Q(termination_date__gte=self.effective_date)
        )
        if self.termination_date is not None:
            others = others.filter(effective_date__lte=self.termination_date)
        return others.select_related("payer")

    @property
    def period(self):
        end = self.termination_date.isoformat() if self.termination_date else "open"
        return f"{self.effective_date.isoformat()} to {end}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.normalize()
        self.is_active = in_force(self.effective_date, self.termination_date, timezone.localdate())
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            kwargs["update_fields"] = {*update_fields, "is_active", "member_id_bidx"}
        super().save(*args, **kwargs)


class AuthorizationQuerySet(TenantQuerySet):
    def usable_on(self, day):
        """Approved authorizations whose validity includes ``day``."""
        return self.filter(
            status=AuthorizationStatus.APPROVED, valid_from__lte=day, valid_to__gte=day
        )


class Authorization(TenantModel):
    """A payer's prior authorization for some HCPCS codes of a patient's coverage.

    Units are drawn (``units_used``) as claims are created; the database refuses more
    used than approved. Status moves through ``hme.services`` (requested -> approved |
    denied; approved -> expired).
    """

    coverage = models.ForeignKey(Coverage, on_delete=models.PROTECT, related_name="authorizations")
    hcpcs_codes = models.JSONField(
        "HCPCS codes", default=list, help_text='The authorized items, as ["K0823"].'
    )
    number = models.CharField(
        "authorization number", max_length=50, blank=True, help_text="The payer's number (UTN)."
    )
    valid_from = models.DateField("valid from", null=True, blank=True)
    valid_to = models.DateField("valid to", null=True, blank=True)
    units_approved = models.PositiveIntegerField("units approved", default=0)
    units_used = models.PositiveIntegerField("units used", default=0, editable=False)
    status = models.CharField(
        max_length=16,
        choices=AuthorizationStatus.choices,
        default=AuthorizationStatus.REQUESTED,
        editable=False,
    )
    decided_at = models.DateTimeField("decided at", null=True, blank=True, editable=False)
    notes = models.TextField(blank=True)

    objects: ClassVar = AuthorizationQuerySet.as_manager()

    access_logged = True

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(units_used__lte=F("units_approved")),
                name="authorization_units_within_approved",
                violation_error_message="More units used than approved.",
            ),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True)
                | Q(valid_from__isnull=True)
                | Q(valid_to__gte=F("valid_from")),
                name="authorization_valid_to_after_from",
                violation_error_message="'Valid to' cannot be before 'valid from'.",
            ),
            models.CheckConstraint(
                condition=~Q(status=AuthorizationStatus.APPROVED)
                | (
                    ~Q(number="")
                    & Q(valid_from__isnull=False)
                    & Q(valid_to__isnull=False)
                    & Q(units_approved__gte=1)
                ),
                name="authorization_approved_complete",
                violation_error_message=(
                    "An approved authorization has a number, validity dates and approved units."
                ),
            ),
        ]
        indexes = [
            # Claim creation: a coverage's approved authorizations on a date of service.
            models.Index(fields=["coverage", "status", "valid_to"], name="auth_coverage_idx"),
            # Worklist: authorizations by status and expiry within a company.
            models.Index(fields=["company", "status", "valid_to"], name="auth_status_idx"),
        ]

    def __str__(self):
        codes = ", ".join(self.hcpcs_codes or [])
        return f"{self.number or 'requested'} ({codes})"

    @property
    def units_left(self):
        return self.units_approved - self.units_used

    def clean(self):
        super().clean()
        errors = same_company_errors(self, ["coverage"])
        try:
            self.hcpcs_codes = clean_hcpcs_list(self.hcpcs_codes or [])
        except ValidationError as error:
            errors["hcpcs_codes"] = error.messages
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            errors["valid_to"] = "'Valid to' cannot be before 'valid from'."
        if self.units_approved is not None and self.units_used > self.units_approved:
            errors["units_approved"] = (
                f"{self.units_used} units are already used: approve at least that many."
            )
        if errors:
            raise ValidationError(errors)

    def covers(self, hcpcs: str, day: date) -> bool:
        return hcpcs in (self.hcpcs_codes or []) and (
            self.valid_from is not None
            and self.valid_to is not None
            and self.valid_from <= day <= self.valid_to
        )
