"""Documents, the fax intake inbox, prescriber signing requests, legal holds and the
record of every purge (docs/domain/documents.md).

A document's bytes never sit in a column: ``storage_name`` names a sealed file in the
``documents`` storage (``documents.crypto``); the row keeps what describes the
plaintext (SHA-256, size, content type, pages) and the links that say what it is about.
"""

from typing import ClassVar

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from core.models import BaseModel, TenantModel, TenantQuerySet
from core.phi import EncryptedCharField, EncryptedEmailField, EncryptedTextField

from .choices import (
    AttachmentTransmission,
    DocumentKind,
    DocumentSource,
    IntakeOrigin,
    IntakeStatus,
    SigningStatus,
)


class StoredFileMixin(models.Model):
    """A sealed file in the documents storage and what describes its plaintext."""

    storage_name = models.CharField("stored file", max_length=255, editable=False)
    key_fingerprint = models.CharField(
        "key fingerprint", max_length=16, editable=False, help_text="Which key sealed the file."
    )
    sha256 = models.CharField("SHA-256", max_length=64, editable=False)
    size = models.PositiveBigIntegerField("size (bytes)", editable=False)
    content_type = models.CharField("content type", max_length=64, editable=False)
    pages = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        abstract = True


class Document(StoredFileMixin, TenantModel):
    """One document kept for a patient: an order, a prescription, a decision, a proof.

    Linked to the patient always, and to the order, delivery, claim or prescriber it
    supports when known. Created only by ``documents.services`` (upload, a filed fax,
    a signed order, a generated file); served only by the download view.
    """

    patient = models.ForeignKey(
        "clinical.Patient", on_delete=models.PROTECT, related_name="documents"
    )
    kind = models.CharField(max_length=16, choices=DocumentKind.choices)
    source = models.CharField(
        max_length=16, choices=DocumentSource.choices, default=DocumentSource.UPLOAD
    )
    order = models.ForeignKey(
        "dme.Order", on_delete=models.PROTECT, null=True, blank=True, related_name="documents"
    )
    delivery = models.ForeignKey(
        "dme.Delivery", on_delete=models.PROTECT, null=True, blank=True, related_name="documents"
    )
    claim = models.ForeignKey(
        "hme.Claim", on_delete=models.PROTECT, null=True, blank=True, related_name="documents"
    )
    prescriber = models.ForeignKey(
        "clinical.Provider",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="documents",
    )
    received_at = models.DateTimeField("received at")
    # A file name often names the patient: kept encrypted, shown only on the change page.
    original_name = EncryptedCharField("original file name", max_length=255, blank=True)
    description = EncryptedCharField(max_length=500, blank=True)
    intake = models.ForeignKey(
        "documents.FaxIntake",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="documents",
    )
    # The 837P PWK segment of a claim it supports (documents.services.billing).
    attachment_transmission = models.CharField(
        "sent to the payer",
        max_length=2,
        choices=AttachmentTransmission.choices,
        blank=True,
        editable=False,
    )
    attachment_control_number = models.CharField(
        "attachment control number", max_length=80, blank=True, editable=False
    )
    attachment_sent_at = models.DateTimeField(
        "attachment sent at", null=True, blank=True, editable=False
    )

    objects: ClassVar = TenantQuerySet.as_manager()
    access_logged = True

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(attachment_transmission="") | ~Q(attachment_control_number=""),
                name="document_sent_has_control_number",
                violation_error_message="A document sent to the payer needs its control number.",
            ),
        ]
        indexes = [
            # A patient's documents (patient page, ?patient=), newest first.
            models.Index(fields=["company", "patient", "received_at"], name="document_patient_idx"),
            # The documents of an order or a claim (order page, readiness, audit packet).
            models.Index(fields=["order", "kind"], name="document_order_kind_idx"),
            models.Index(fields=["claim", "kind"], name="document_claim_kind_idx"),
            # The retention sweep, by kind.
            models.Index(fields=["kind", "received_at"], name="document_retention_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({str(self.pk)[:8]})"

    def clean(self) -> None:
        """What a document is about is its patient's, in its company."""
        super().clean()
        if not self.patient_id:
            return
        errors = {}
        for field in ("order", "delivery", "claim", "prescriber"):
            related = getattr(self, field) if getattr(self, f"{field}_id") else None
            if related is None:
                continue
            if self.company_id and related.company_id != self.company_id:
                errors[field] = "This record is not in your company."
                continue
            owner = related.order.patient_id if field == "delivery" else None
            owner = getattr(related, "patient_id", owner)
            if owner is not None and owner != self.patient_id:
                errors[field] = f"This {field} is for another patient."
        if errors:
            raise ValidationError(errors)


class FaxIntake(StoredFileMixin, TenantModel):
    """A fax (or an upload to the inbox) waiting for a clerk: its OCR text and what it
    seems to be. Nothing here touches a patient until a person files it."""

    origin = models.CharField(max_length=8, choices=IntakeOrigin.choices)
    status = models.CharField(
        max_length=16, choices=IntakeStatus.choices, default=IntakeStatus.RECEIVED, editable=False
    )
    received_at = models.DateTimeField("received at")
    ocr_text = EncryptedTextField("recognised text", blank=True, editable=False)
    ocr_error = models.CharField("OCR error", max_length=300, blank=True, editable=False)
    ocr_at = models.DateTimeField("OCR at", null=True, blank=True, editable=False)
    suggested_patient = models.ForeignKey(
        "clinical.Patient",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    suggested_prescriber = models.ForeignKey(
        "clinical.Provider",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    suggested_kind = models.CharField(
        max_length=16, choices=DocumentKind.choices, blank=True, editable=False
    )
    # Why each suggestion was made, in words without PHI ("name and date of birth").
    suggestion_notes = models.JSONField(default=list, blank=True, editable=False)
    # Page numbers (1-based) already filed as documents.
    filed_pages = models.JSONField(default=list, blank=True, editable=False)
    filed_at = models.DateTimeField("filed at", null=True, blank=True, editable=False)

    objects: ClassVar = TenantQuerySet.as_manager()
    # Its text is PHI before it is anyone's document: every look is logged.
    access_logged = True

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = "fax intake"
        indexes = [
            # The worklist: a company's intakes of a status, oldest first.
            models.Index(fields=["company", "status", "received_at"], name="intake_status_idx"),
        ]

    def __str__(self) -> str:
        return f"Fax {str(self.pk)[:8]}"


class SigningRequest(TenantModel):
    """A tokenised, expiring link sent to the prescriber to sign an order's written
    order. Only the SHA-256 of the token is kept: the link cannot be rebuilt from the
    database."""

    order = models.ForeignKey("dme.Order", on_delete=models.PROTECT, related_name="+")
    prescriber = models.ForeignKey("clinical.Provider", on_delete=models.PROTECT, related_name="+")
    email = EncryptedEmailField("sent to")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    status = models.CharField(
        max_length=16, choices=SigningStatus.choices, default=SigningStatus.SENT, editable=False
    )
    sent_at = models.DateTimeField("sent at", editable=False)
    expires_at = models.DateTimeField("expires at", editable=False)
    signed_at = models.DateTimeField("signed at", null=True, blank=True, editable=False)
    signer_name = EncryptedCharField("signed by", max_length=200, blank=True, editable=False)
    signer_ip = models.GenericIPAddressField(
        "signer address", null=True, blank=True, editable=False
    )
    signer_user_agent = models.CharField(max_length=255, blank=True, editable=False)
    # SHA-256 of the written order's elements as shown to the signer (canonical JSON).
    content_sha256 = models.CharField("content SHA-256", max_length=64, blank=True, editable=False)
    document = models.OneToOneField(
        Document,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="signing_request",
    )

    objects: ClassVar = TenantQuerySet.as_manager()
    access_logged = True

    class Meta:
        ordering = ["-sent_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status=SigningStatus.SIGNED)
                | (Q(signed_at__isnull=False) & Q(document__isnull=False)),
                name="signing_signed_has_document",
                violation_error_message="A signed request needs its signed document.",
            ),
        ]
        indexes = [models.Index(fields=["order", "status"], name="signing_order_idx")]

    def __str__(self) -> str:
        return f"Signing request {str(self.pk)[:8]}"


class LegalHold(TenantModel):
    """Keep every record of a patient or of a claim past its retention end, until the
    hold is released (litigation, an investigation, an audit in progress)."""

    patient = models.ForeignKey(
        "clinical.Patient", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    claim = models.ForeignKey(
        "hme.Claim", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reason = EncryptedTextField(help_text="Matter, case number or request.")
    released_at = models.DateTimeField("released at", null=True, blank=True, editable=False)
    released_by = models.ForeignKey(
        "accounts.User",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )

    objects: ClassVar = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(patient__isnull=False) & Q(claim__isnull=True))
                | (Q(patient__isnull=True) & Q(claim__isnull=False)),
                name="legalhold_one_target",
                violation_error_message="A legal hold names either a patient or a claim.",
            ),
        ]
        indexes = [models.Index(fields=["company", "released_at"], name="legalhold_active_idx")]

    def __str__(self) -> str:
        target = "patient" if self.patient_id else "claim"
        return f"Legal hold on a {target} ({str(self.pk)[:8]})"


class PurgeRecord(BaseModel):
    """One run of ``purge_expired`` that removed something: what kinds, how many and
    which ids. No PHI (ids and counts only). Kept like the audit trail."""

    ran_at = models.DateTimeField("ran at")
    as_of = models.DateField("retention as of")
    counts = models.JSONField(default=dict)
    removed_ids = models.JSONField("removed ids", default=dict)
    held_skipped = models.PositiveIntegerField("kept under a legal hold", default=0)

    class Meta:
        ordering = ["-ran_at"]

    def __str__(self) -> str:
        return f"Purge of {self.ran_at:%Y-%m-%d %H:%M}"


__all__ = [
    "Document",
    "FaxIntake",
    "LegalHold",
    "PurgeRecord",
    "SigningRequest",
]
