"""EDI submissions: 837P batches, the claims in them, and the files that came back.

docs/domain/edi.md. A batch is one payer's claims in one 837P file (005010X222A1); the
file itself is PHI and is stored encrypted (backup file format, decision 0005) under
``EDI_STORE_DIR``; the database keeps its checksum and the control numbers.
"""

from typing import ClassVar

from django.db import models
from django.db.models import Q

from core.models import CompanyNumberCounter, TenantModel, TenantQuerySet

BATCH_NUMBER_PREFIX = "B-"


class BatchStatus(models.TextChoices):
    CREATED = "created", "Created"
    SENT = "sent", "Sent"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"


class BatchClaimStatus(models.TextChoices):
    """Where one claim of a batch stands with the clearinghouse / payer front end."""

    INCLUDED = "included", "In the file"
    ACCEPTED = "accepted", "Accepted (277CA)"
    REJECTED = "rejected", "Rejected"


class ClaimFrequency(models.TextChoices):
    """CLM05-3 claim frequency type code (NUBC; 005010X222A1 2300 CLM05-3)."""

    ORIGINAL = "1", "1 - original"
    REPLACEMENT = "7", "7 - replacement of a prior claim"
    VOID = "8", "8 - void of a prior claim"


class InboundStatus(models.TextChoices):
    PROCESSED = "processed", "Processed"
    REFUSED = "refused", "Refused"


class BatchNumberCounter(CompanyNumberCounter):
    """The last batch number (B-000012) given out in a company."""


class InterchangeControlCounter(CompanyNumberCounter):
    """The last X12 control number of a company's outgoing files: ISA13, GS06 and ST02
    of each 837P are drawn from it, so they never repeat (ISA13 is nine digits)."""


class SubmissionBatchQuerySet(TenantQuerySet):
    def pending_send(self):
        return self.filter(status=BatchStatus.CREATED)


class SubmissionBatch(TenantModel):
    """One payer's claims in one 837P file.

    Status: created -> sent -> accepted | rejected (999); created only may be rebuilt.
    """

    number = models.CharField("batch number", max_length=16, editable=False)
    payer = models.ForeignKey("hme.Payer", on_delete=models.PROTECT, related_name="edi_batches")
    status = models.CharField(
        max_length=16, choices=BatchStatus.choices, default=BatchStatus.CREATED, editable=False
    )
    claims = models.ManyToManyField(
        "hme.Claim", through="hme.BatchClaim", related_name="edi_batches"
    )
    interchange_control_number = models.PositiveIntegerField(
        "ISA13 interchange control number", editable=False
    )
    group_control_number = models.PositiveIntegerField("GS06 group control number", editable=False)
    transaction_control_number = models.CharField(
        "ST02 transaction set control number", max_length=9, editable=False
    )
    usage_indicator = models.CharField("ISA15 usage", max_length=1, default="P", editable=False)
    file_name = models.CharField("file name", max_length=100, editable=False)
    file_sha256 = models.CharField("file SHA-256", max_length=64, editable=False)
    file_size = models.PositiveBigIntegerField("file size (bytes)", default=0, editable=False)
    claim_count = models.PositiveIntegerField("claims", default=0, editable=False)
    total_charge = models.DecimalField(
        "total charge", max_digits=14, decimal_places=2, default=0, editable=False
    )
    built_at = models.DateTimeField("built at", editable=False)
    build_count = models.PositiveSmallIntegerField("builds", default=1, editable=False)
    sent_at = models.DateTimeField("sent at", null=True, blank=True, editable=False)
    sent_reference = models.CharField(
        "clearinghouse reference", max_length=200, blank=True, editable=False
    )
    acknowledged_at = models.DateTimeField("acknowledged at", null=True, blank=True, editable=False)
    rejection_reason = models.TextField("rejection (999)", blank=True, editable=False)
    send_error = models.TextField("last send error", blank=True, editable=False)

    objects: ClassVar = SubmissionBatchQuerySet.as_manager()

    class Meta:
        verbose_name = "837P batch"
        verbose_name_plural = "837P batches"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "number"],
                name="batch_company_number_uniq",
                violation_error_message="This company already has a batch with this number.",
            ),
            # Control numbers never repeat within a company (ISA13 per sender).
            models.UniqueConstraint(
                fields=["company", "interchange_control_number"],
                name="batch_company_isa13_uniq",
                violation_error_message="This interchange control number is already used.",
            ),
            models.UniqueConstraint(
                fields=["company", "group_control_number"],
                name="batch_company_gs06_uniq",
                violation_error_message="This group control number is already used.",
            ),
        ]
        indexes = [
            models.Index(fields=["company", "status", "created_at"], name="batch_status_idx"),
        ]

    def __str__(self) -> str:
        return self.number


class BatchClaim(TenantModel):
    """A claim in a batch, and what the 277CA (or a 999 rejection) said of it."""

    batch = models.ForeignKey(SubmissionBatch, on_delete=models.CASCADE, related_name="items")
    claim = models.ForeignKey("hme.Claim", on_delete=models.PROTECT, related_name="edi_items")
    frequency = models.CharField(
        "frequency (CLM05-3)",
        max_length=1,
        choices=ClaimFrequency.choices,
        default=ClaimFrequency.ORIGINAL,
        editable=False,
    )
    status = models.CharField(
        max_length=16,
        choices=BatchClaimStatus.choices,
        default=BatchClaimStatus.INCLUDED,
        editable=False,
    )
    payer_claim_number = models.CharField(
        "payer claim number", max_length=50, blank=True, editable=False
    )
    # 277CA STC01: category:status[:entity] (e.g. A7:21), and the words for them.
    status_codes = models.CharField("status codes", max_length=200, blank=True, editable=False)
    reason = models.TextField("reason", blank=True, editable=False)
    acknowledged_at = models.DateTimeField("acknowledged at", null=True, blank=True, editable=False)

    class Meta:
        verbose_name = "claim in a batch"
        ordering = ["batch", "claim"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "claim"], name="batchclaim_uniq"),
        ]
        indexes = [
            # A claim's latest acknowledgement (worklist filter, REF*F8 lookup).
            models.Index(fields=["claim", "status", "created_at"], name="batchclaim_claim_idx"),
            models.Index(
                fields=["company", "status"],
                condition=Q(status="rejected"),
                name="batchclaim_rejected_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.batch_id}: {self.claim_id}"


class InboundFile(TenantModel):
    """A file fetched from the clearinghouse: processed once (its checksum), or refused."""

    name = models.CharField(max_length=200)
    sha256 = models.CharField("SHA-256", max_length=64)
    status = models.CharField(max_length=16, choices=InboundStatus.choices)
    transaction_sets = models.CharField("transaction sets", max_length=200, blank=True)
    summary = models.TextField(blank=True)
    error = models.TextField(blank=True)

    class Meta:
        verbose_name = "inbound EDI file"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "sha256"],
                condition=Q(status="processed"),
                name="inboundfile_processed_once",
            ),
        ]

    def __str__(self) -> str:
        return self.name
