"""Money in: 835 remittance imports, what could not be matched, patient statements and
eligibility (270/271) checks.

An imported 835 (005010X221A1) is one ``RemittanceImport`` (payer + TRN02 trace number
unique: the same file posts once) with its ``Payment`` (posted through
``hme.services.post_payment``), one ``RemittanceClaim`` per CLP (matched, reversal or
unmatched: the clerk's worklist), the RARC remarks of each posted allocation
(``AllocationRemark``) and the provider-level adjustments (``ProviderAdjustment``, PLB).
"""

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q

from core.models import CompanyNumberCounter, TenantModel, TenantQuerySet
from core.money import MONEY

from .claims import ZERO


class RemittanceSource(models.TextChoices):
    INBOX = "inbox", "Clearinghouse inbox"
    UPLOAD = "upload", "Upload"


class RemittanceClaimKind(models.TextChoices):
    """What one CLP of an 835 did (CLP02 status 1/2/3/4 payments and denials; 22 reversals)."""

    POSTED = "posted", "Posted"
    DENIED = "denied", "Denied"
    REVERSAL = "reversal", "Reversal"
    UNMATCHED = "unmatched", "Unmatched"
    ASSIGNED = "assigned", "Assigned by a clerk"


class RemittanceImport(TenantModel):
    """One 835 transaction (ST/SE) imported: the payer's payment (BPR) identified by its
    trace number (TRN02). ``payment`` carries the money posted to claims."""

    payer = models.ForeignKey("hme.Payer", on_delete=models.PROTECT, related_name="remittances")
    payment = models.OneToOneField(
        "hme.Payment", on_delete=models.PROTECT, related_name="remittance", editable=False
    )
    trace_number = models.CharField("trace number (TRN02)", max_length=50)
    source = models.CharField(max_length=8, choices=RemittanceSource.choices)
    file_name = models.CharField("file name", max_length=200, blank=True)
    bpr_amount = models.DecimalField("BPR02 payment amount", **MONEY)
    paid_date = models.DateField("payment date (BPR16)")
    claims_count = models.PositiveIntegerField("claims", default=0)
    posted_amount = models.DecimalField("posted to claims", default=ZERO, **MONEY)
    reversed_amount = models.DecimalField("reversed", default=ZERO, **MONEY)
    unmatched_amount = models.DecimalField("unmatched", default=ZERO, **MONEY)
    provider_adjustment_amount = models.DecimalField(
        "provider-level adjustments (PLB)", default=ZERO, **MONEY
    )

    objects: ClassVar = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # The same 835 imported twice posts once (TRN02 is unique per payer).
            models.UniqueConstraint(
                fields=["company", "payer", "trace_number"],
                name="remittance_payer_trace_uniq",
                violation_error_message="This payer's remittance (trace number) is already "
                "imported.",
            ),
        ]
        indexes = [models.Index(fields=["company", "created_at"], name="remittance_created_idx")]

    def __str__(self):
        return f"835 {self.trace_number} ({self.bpr_amount})"


class RemittanceClaimQuerySet(TenantQuerySet):
    def unmatched(self):
        return self.filter(kind=RemittanceClaimKind.UNMATCHED)


class RemittanceClaim(TenantModel):
    """One claim payment (CLP loop 2100) of an imported 835, as the payer sent it.

    ``lines`` keeps the SVC/CAS/LQ details (codes, amounts; no patient names) so that an
    unmatched one can be posted when a clerk assigns it to a claim."""

    remittance = models.ForeignKey(
        RemittanceImport, on_delete=models.PROTECT, related_name="claim_payments"
    )
    claim = models.ForeignKey(
        "hme.Claim",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="remittance_claims",
    )
    kind = models.CharField(max_length=12, choices=RemittanceClaimKind.choices)
    payer_claim_number = models.CharField("CLP01 (our claim number)", max_length=38)
    payer_control_number = models.CharField("CLP07 payer claim control number", max_length=50)
    status_code = models.CharField("CLP02 status", max_length=2)
    charge = models.DecimalField("CLP03 charge", **MONEY)
    paid = models.DecimalField("CLP04 paid", **MONEY)
    patient_responsibility = models.DecimalField("CLP05 patient responsibility", **MONEY)
    details = models.JSONField(default=dict, help_text="Claim- and line-level CAS, SVC, LQ.")
    reverses = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="reversed_by"
    )
    reversed_at = models.DateTimeField(null=True, blank=True)
    assigned_at = models.DateTimeField(null=True, blank=True)
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    allocations = models.ManyToManyField("hme.PaymentAllocation", blank=True, related_name="+")

    objects: ClassVar = RemittanceClaimQuerySet.as_manager()

    access_logged = True
    patient_field = "claim__patient_id"

    class Meta:
        ordering = ["remittance", "created_at"]
        indexes = [
            # The unmatched worklist, and finding what a reversal reverses.
            models.Index(fields=["company", "kind", "created_at"], name="remitclaim_kind_idx"),
            models.Index(fields=["company", "payer_claim_number"], name="remitclaim_number_idx"),
        ]

    def __str__(self):
        return f"CLP {self.payer_claim_number} {self.get_kind_display().lower()} ({self.paid})"


class AllocationRemark(TenantModel):
    """A remittance advice remark code (RARC, LQ*HE / MOA / MIA) on a posted allocation."""

    allocation = models.ForeignKey(
        "hme.PaymentAllocation", on_delete=models.CASCADE, related_name="remarks"
    )
    code = models.CharField("remark code (RARC)", max_length=8)

    class Meta:
        ordering = ["allocation", "code"]

    def __str__(self):
        return self.code


class ProviderAdjustment(TenantModel):
    """A provider-level adjustment (PLB) of an 835: a positive amount reduces the
    payment (recoupment, forward balance), a negative one increases it (interest)."""

    remittance = models.ForeignKey(
        RemittanceImport, on_delete=models.CASCADE, related_name="provider_adjustments"
    )
    fiscal_period = models.DateField("PLB02 fiscal period date")
    reason = models.CharField("PLB03-1 reason", max_length=2)
    reference = models.CharField("PLB03-2 reference", max_length=50, blank=True)
    amount = models.DecimalField(**MONEY)

    class Meta:
        ordering = ["remittance", "created_at"]

    def __str__(self):
        return f"PLB {self.reason} {self.amount}"


class StatementRun(TenantModel):
    """One run of patient statements (command, monthly task or admin action)."""

    as_of = models.DateField("as of")
    statements_count = models.PositiveIntegerField("statements", default=0)
    lines_count = models.PositiveIntegerField("lines", default=0)
    total_due = models.DecimalField("total due", default=ZERO, **MONEY)

    objects: ClassVar = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"Statements {self.as_of.isoformat()} ({self.statements_count})"


class PatientStatement(TenantModel):
    """A patient's statement of a run: the open patient-share lines and the PDF."""

    run = models.ForeignKey(StatementRun, on_delete=models.CASCADE, related_name="statements")
    patient = models.ForeignKey(
        "clinical.Patient", on_delete=models.PROTECT, related_name="statements"
    )
    lines_count = models.PositiveIntegerField("lines", default=0)
    total_due = models.DecimalField("due", **MONEY)
    pdf = models.BinaryField(editable=False)

    objects: ClassVar = TenantQuerySet.as_manager()

    access_logged = True

    class Meta:
        ordering = ["run", "patient"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "patient"],
                name="statement_run_patient_uniq",
                violation_error_message="This run already has this patient's statement.",
            )
        ]

    def __str__(self):
        return f"Statement {self.run.as_of.isoformat()} {self.patient}"


class EligibilityStatus(models.TextChoices):
    SENT = "sent", "270 sent, waiting for the 271"
    ACTIVE = "active", "Active coverage"
    INACTIVE = "inactive", "Inactive"
    REJECTED = "rejected", "Rejected (AAA)"
    MANUAL = "manual", "Verified by hand"


class EligibilityCheck(TenantModel):
    """One eligibility check of a coverage: a 270 sent and its 271 answer
    (005010X279A1), or a manual verification."""

    coverage = models.ForeignKey(
        "hme.Coverage", on_delete=models.PROTECT, related_name="eligibility_checks"
    )
    status = models.CharField(max_length=10, choices=EligibilityStatus.choices)
    control_number = models.CharField("270 BHT03 reference", max_length=30, blank=True)
    plan_begin = models.DateField("plan begin", null=True, blank=True)
    plan_end = models.DateField("plan end", null=True, blank=True)
    deductible_remaining = models.DecimalField(
        "DME deductible remaining", null=True, blank=True, **MONEY
    )
    coinsurance_percent = models.DecimalField(
        "DME coinsurance", max_digits=5, decimal_places=2, null=True, blank=True
    )
    rejection_reasons = models.JSONField("AAA rejections", default=list, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    objects: ClassVar = TenantQuerySet.as_manager()

    access_logged = True
    patient_field = "coverage__patient_id"

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "control_number"],
                condition=~Q(control_number=""),
                name="eligibility_control_uniq",
                violation_error_message="This 270 reference is already used.",
            )
        ]

    def __str__(self):
        return f"Eligibility {self.get_status_display().lower()}"


class SecondaryClaim(TenantModel):
    """A claim to the secondary payer made from a primary claim's patient-responsibility
    balance (coordination of benefits): the primary's payment and adjustments go on its
    837P (loops 2320/2430, ``hme.services.secondary.other_payer_data``)."""

    claim = models.OneToOneField("hme.Claim", on_delete=models.PROTECT, related_name="coordination")
    primary = models.OneToOneField(
        "hme.Claim", on_delete=models.PROTECT, related_name="secondary_link"
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.claim} (secondary of {self.primary})"


class EligibilityNumberCounter(CompanyNumberCounter):
    """The last 270 inquiry number (ISA13, BHT03/TRN02 reference) given out in a company."""
