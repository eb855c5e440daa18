"""Remittances: payments from payers, allocated to claims, with adjustments (CAS)."""

from decimal import Decimal
from typing import ClassVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q

from core.models import TenantModel, TenantQuerySet
from core.money import MONEY

from ..choices import AdjustmentGroup, PaymentMethod, describe_carc, normalize_carc, validate_carc
from .claims import ZERO
from .payers import same_company_errors


class Payment(TenantModel):
    """Money received from a payer (a check or an EFT, 835 BPR/TRN).

    ``allocated_amount`` is kept by ``hme.services.post_payment`` (the sum of the
    allocations, recomputed under a lock on this row); the database refuses allocating
    more than the payment. Allocations are never written directly.
    """

    payer = models.ForeignKey("hme.Payer", on_delete=models.PROTECT, related_name="payments")
    method = models.CharField(
        max_length=8, choices=PaymentMethod.choices, default=PaymentMethod.EFT
    )
    number = models.CharField("check/EFT number", max_length=50)
    paid_date = models.DateField("paid date")
    amount = models.DecimalField(validators=[MinValueValidator(ZERO)], **MONEY)
    allocated_amount = models.DecimalField("allocated", default=ZERO, editable=False, **MONEY)
    note = models.TextField(blank=True)

    objects: ClassVar = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-paid_date", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "payer", "number"],
                name="payment_company_payer_number_uniq",
                violation_error_message="This payer's check/EFT number is already recorded.",
            ),
            models.CheckConstraint(
                condition=Q(amount__gte=0) & Q(allocated_amount__gte=0),
                name="payment_money_not_negative",
                violation_error_message="Payment amounts cannot be negative.",
            ),
            models.CheckConstraint(
                condition=Q(allocated_amount__lte=F("amount")),
                name="payment_not_over_allocated",
                violation_error_message="Allocations cannot exceed the payment.",
            ),
        ]
        indexes = [
            # Posting worklist: a payer's payments by date; cursor pagination.
            models.Index(fields=["company", "payer", "paid_date"], name="payment_payer_date_idx"),
            models.Index(fields=["company", "created_at", "id"], name="payment_created_idx"),
        ]

    def __str__(self):
        return f"{self.get_method_display()} {self.number} ({self.amount})"

    @property
    def unallocated_amount(self):
        return self.amount - self.allocated_amount

    def clean(self):
        super().clean()
        errors = same_company_errors(self, ["payer"])
        if (
            self.amount is not None
            and self.allocated_amount
            and self.amount < self.allocated_amount
        ):
            errors["amount"] = (
                f"${self.allocated_amount} is already allocated from this payment: the amount "
                "cannot be less."
            )
        if errors:
            raise ValidationError(errors)


class PaymentAllocation(TenantModel):
    """The part of a payment that pays one claim (or one of its lines), with the
    payer's adjustments explaining the rest (835 CLP/SVC)."""

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="allocations")
    claim = models.ForeignKey("hme.Claim", on_delete=models.PROTECT, related_name="allocations")
    claim_line = models.ForeignKey(
        "hme.ClaimLine",
        verbose_name="claim line",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="allocations",
    )
    amount = models.DecimalField(validators=[MinValueValidator(ZERO)], **MONEY)

    access_logged = True

    class Meta:
        ordering = ["payment", "created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gte=0),
                name="allocation_amount_not_negative",
                violation_error_message="An allocation cannot be negative.",
            ),
        ]
        indexes = [
            # A claim's payments (recomputing its paid amount).
            models.Index(fields=["claim", "created_at"], name="allocation_claim_idx"),
            # The cockpit's "Cash posted" by month (the last six months of a company).
            models.Index(fields=["company", "created_at"], name="allocation_company_created_idx"),
            # The data-quality window: rows changed since the last passed run
            # (core.quality.checks.changed_rows).
            models.Index(fields=["updated_at"], name="allocation_updated_idx"),
        ]

    def __str__(self):
        return f"{self.amount} to {self.claim}"

    def clean(self):
        super().clean()
        errors = same_company_errors(self, ["payment", "claim"])
        if self.claim_line_id and self.claim_id and self.claim_line.claim_id != self.claim_id:
            errors["claim_line"] = "This line belongs to another claim."
        if errors:
            raise ValidationError(errors)


class Adjustment(TenantModel):
    """Why the payer paid less than charged: group (CO, PR, OA, PI), reason code (CARC)
    and amount. PR amounts are the patient's responsibility."""

    allocation = models.ForeignKey(
        PaymentAllocation, on_delete=models.CASCADE, related_name="adjustments"
    )
    group = models.CharField(max_length=2, choices=AdjustmentGroup.choices)
    code = models.CharField("reason code (CARC)", max_length=3)
    amount = models.DecimalField(validators=[MinValueValidator(ZERO)], **MONEY)

    access_logged = True

    class Meta:
        ordering = ["allocation", "group", "code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gte=0),
                name="adjustment_amount_not_negative",
                violation_error_message="An adjustment cannot be negative.",
            ),
            models.CheckConstraint(
                condition=Q(group__in=AdjustmentGroup.values),
                name="adjustment_group_known",
                violation_error_message="Use one of the groups CO, PR, OA, PI.",
            ),
        ]
        indexes = [
            # Denial and adjustment reports by reason.
            models.Index(fields=["company", "group", "code"], name="adjustment_reason_idx"),
            # The data-quality window: rows changed since the last passed run
            # (core.quality.checks.changed_rows).
            models.Index(fields=["updated_at"], name="adjustment_updated_idx"),
        ]

    def __str__(self):
        return f"{describe_carc(self.group, self.code)}: {self.amount}"

    def clean(self):
        super().clean()
        self.code = normalize_carc(self.code)
        validate_carc(self.group, self.code)


class PatientPaymentMethod(models.TextChoices):
    CASH = "cash", "Cash"
    CHECK = "check", "Check"
    CARD = "card", "Card"


class PatientPayment(TenantModel):
    """Money a patient paid toward their share (the PR balance of their statements),
    applied to the open patient-share lines by ``hme.services.record_patient_payment``
    (oldest date of service first; never more than the patient owes: AriesOne keeps no
    credit balance). ``reference`` is the check number or the card's approval code and
    last four digits, never a card number."""

    patient = models.ForeignKey(
        "clinical.Patient", on_delete=models.PROTECT, related_name="patient_payments"
    )
    method = models.CharField(max_length=8, choices=PatientPaymentMethod.choices)
    reference = models.CharField(
        "check number / card reference",
        max_length=50,
        blank=True,
        help_text="Check number, or the card's approval code and last 4 digits (never the "
        "card number).",
    )
    amount = models.DecimalField(validators=[MinValueValidator(Decimal("0.01"))], **MONEY)
    received_at = models.DateTimeField("received at")
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="received by",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    objects: ClassVar = TenantQuerySet.as_manager()

    access_logged = True
    patient_field = "patient_id"

    class Meta:
        ordering = ["-received_at", "-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0),
                name="patient_payment_amount_positive",
                violation_error_message="A patient payment is more than $0.00.",
            ),
            # The same check recorded twice is one payment.
            models.UniqueConstraint(
                fields=["company", "patient", "reference"],
                condition=Q(method="check") & ~Q(reference=""),
                name="patient_payment_check_uniq",
                violation_error_message="This patient's check with this number is already "
                "recorded.",
            ),
        ]
        indexes = [
            models.Index(fields=["company", "patient", "received_at"], name="patpay_patient_idx"),
            models.Index(fields=["company", "created_at", "id"], name="patpay_created_idx"),
        ]

    def __str__(self):
        return f"{self.get_method_display()} {self.reference} ({self.amount})".replace("  ", " ")


class PatientPaymentAllocation(TenantModel):
    """The part of a patient payment that pays one patient-share line (a claim line, or
    the claim as a whole for a claim-level PR adjustment)."""

    payment = models.ForeignKey(
        PatientPayment, on_delete=models.PROTECT, related_name="allocations"
    )
    claim = models.ForeignKey(
        "hme.Claim", on_delete=models.PROTECT, related_name="patient_allocations"
    )
    claim_line = models.ForeignKey(
        "hme.ClaimLine",
        verbose_name="claim line",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="patient_allocations",
    )
    amount = models.DecimalField(validators=[MinValueValidator(Decimal("0.01"))], **MONEY)

    access_logged = True
    patient_field = "claim__patient_id"

    class Meta:
        ordering = ["payment", "created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0),
                name="patient_allocation_positive",
                violation_error_message="A patient payment allocation is more than $0.00.",
            ),
        ]
        indexes = [
            models.Index(fields=["claim", "claim_line"], name="patalloc_claim_idx"),
        ]

    def __str__(self):
        return f"{self.amount} to {self.claim}"
