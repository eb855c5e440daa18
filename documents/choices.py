"""Kinds, sources and states of the documents app."""

from django.db import models


class DocumentKind(models.TextChoices):
    STANDARD_WRITTEN_ORDER = "swo", "Standard written order"
    PRESCRIPTION = "prescription", "Prescription"
    PRIOR_AUTH_DECISION = "prior_auth", "Prior-authorization decision"
    PROOF_OF_DELIVERY = "pod", "Proof of delivery"
    INSURANCE_CARD = "insurance_card", "Insurance card"
    MEDICAL_RECORD = "medical_record", "Medical record"
    ABN = "abn", "Advance beneficiary notice (ABN)"
    FACE_TO_FACE = "face_to_face", "Face-to-face note"
    OTHER = "other", "Other"


class DocumentSource(models.TextChoices):
    UPLOAD = "upload", "Upload"
    FAX = "fax", "Fax"
    E_SIGNATURE = "e_signature", "E-signature"
    GENERATED = "generated", "Generated"


class AttachmentTransmission(models.TextChoices):
    """How a claim attachment reached the payer: X12 837P loop 2300 PWK02
    (005010X222A1). Only these two are sent separately from the claim."""

    FAX = "FX", "By fax"
    MAIL = "BM", "By mail"


class IntakeStatus(models.TextChoices):
    RECEIVED = "received", "Received (waiting for OCR)"
    READY = "ready", "Ready for review"
    FAILED = "failed", "OCR failed"
    FILED = "filed", "Filed"
    DISCARDED = "discarded", "Discarded"


class IntakeOrigin(models.TextChoices):
    INBOX = "inbox", "Fax inbox folder"
    UPLOAD = "upload", "Uploaded"


class SigningStatus(models.TextChoices):
    SENT = "sent", "Sent"
    SIGNED = "signed", "Signed"
    CANCELLED = "cancelled", "Cancelled"


class PurgeKind(models.TextChoices):
    DOCUMENT = "document", "Document"
    FAX_INTAKE = "fax_intake", "Fax intake"
    SIGNING_REQUEST = "signing_request", "Signing request"
    AUDIT_ENTRY = "audit_entry", "Audit entry"
