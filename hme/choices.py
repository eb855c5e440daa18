"""Every status and kind of the billing app, and the denial reason codes (CARC)."""

import re

from django.core.exceptions import ValidationError
from django.db import models


class PayerKind(models.TextChoices):
    MEDICARE = "medicare", "Medicare"
    MEDICAID = "medicaid", "Medicaid"
    COMMERCIAL = "commercial", "Commercial"
    VA = "va", "VA"
    SELF_PAY = "self_pay", "Self-pay"


class CoveragePriority(models.TextChoices):
    """Order of billing (coordination of benefits)."""

    PRIMARY = "primary", "Primary"
    SECONDARY = "secondary", "Secondary"
    TERTIARY = "tertiary", "Tertiary"


class SubscriberRelation(models.TextChoices):
    """The patient's relation to the policy holder (X12 837 SBR02 / PAT01)."""

    SELF = "self", "Self"
    SPOUSE = "spouse", "Spouse"
    CHILD = "child", "Child"
    OTHER = "other", "Other"


class AuthorizationStatus(models.TextChoices):
    REQUESTED = "requested", "Requested"
    APPROVED = "approved", "Approved"
    DENIED = "denied", "Denied"
    EXPIRED = "expired", "Expired"


class ClaimStatus(models.TextChoices):
    """docs/domain/hme-billing.md. Submitting is an act, not a status: see ``hme.services``."""

    PENDING = "pending", "Pending"
    PROCESSING = "processing", "Processing"
    APPROVED = "approved", "Approved"
    DENIED = "denied", "Denied"
    PAID = "paid", "Paid"
    VOID = "void", "Void"


class PaymentMethod(models.TextChoices):
    CHECK = "check", "Check"
    EFT = "eft", "EFT"


class AdjustmentGroup(models.TextChoices):
    """Claim adjustment group codes (X12 CAS01)."""

    CO = "CO", "CO - Contractual obligation"
    PR = "PR", "PR - Patient responsibility"
    OA = "OA", "OA - Other adjustment"
    PI = "PI", "PI - Payer-initiated reduction"


# Claim Adjustment Reason Codes (X12 external code list 139) that DME billing meets
# most. The list has some 300 codes and changes three times a year, so a well-formed
# code that is not here is accepted (shown without a description), not refused.
CARC_DESCRIPTIONS = {
    "1": "Deductible amount",
    "2": "Coinsurance amount",
    "3": "Co-payment amount",
    "4": "The procedure code is inconsistent with the modifier used, or a required "
    "modifier is missing",
    "15": "The authorization number is missing, invalid, or does not apply to the billed services",
    "16": "Claim/service lacks information or has submission/billing error(s)",
    "18": "Exact duplicate claim/service",
    "22": "This care may be covered by another payer per coordination of benefits",
    "27": "Expenses incurred after coverage terminated",
    "29": "The time limit for filing has expired",
    "45": "Charge exceeds fee schedule/maximum allowable or contracted/legislated fee arrangement",
    "50": "These are non-covered services because this is not deemed a 'medical "
    "necessity' by the payer",
    "96": "Non-covered charge(s)",
    "97": "The benefit for this service is included in the payment/allowance for "
    "another service/procedure that has already been adjudicated",
    "108": "Rent/purchase guidelines were not met",
    "109": "Claim/service not covered by this payer/contractor",
    "119": "Benefit maximum for this time period or occurrence has been reached",
    "197": "Precertification/notification/authorization/pre-treatment absent",
    "204": "This service/equipment/drug is not covered under the patient's current benefit plan",
    "253": "Sequestration - reduction in federal payment",
}

# Numeric codes (1-3 digits) and the lettered ones (A1, B7, P12, W1, Y2).
CARC_CODE_RE = re.compile(r"^(?:[1-9]\d{0,2}|[A-Z]\d{1,2})$")

# Patient responsibility and contractual adjustments the billing office posts most.
PATIENT_RESPONSIBILITY_GROUP = AdjustmentGroup.PR


def normalize_carc(code: object) -> str:
    """``" co-45"`` style input is split elsewhere; here ``"045"`` -> ``"45"``, ``"b7"``
    -> ``"B7"``."""
    code = str(code or "").strip().upper()
    if code.isdigit():
        code = str(int(code)) if int(code) else code
    return code


def validate_carc(group: str, code: object) -> None:
    """Check a group (CO, PR, OA, PI) and a well-formed reason code; errors by field."""
    errors = {}
    if group not in AdjustmentGroup.values:
        errors["group"] = (
            f"Use one of the adjustment groups {', '.join(AdjustmentGroup.values)}; got {group!r}."
        )
    if not CARC_CODE_RE.match(normalize_carc(code)):
        errors["code"] = (
            "A reason code (CARC) is 1-3 digits (45, 108) or a letter and 1-2 digits (B7); "
            f"got {code!r}."
        )
    if errors:
        raise ValidationError(errors)


def describe_carc(group: str, code: str) -> str:
    """``"CO-45 Charge exceeds fee schedule..."``; unknown codes show without a text."""
    text = CARC_DESCRIPTIONS.get(normalize_carc(code))
    label = f"{group}-{code}"
    return f"{label} {text}" if text else label
