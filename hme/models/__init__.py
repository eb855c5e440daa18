"""Payers, coverage, prior authorization, claims, payments and denials.

Split by topic; import models from here (``from hme.models import Claim``).
"""

from .claims import Claim, ClaimLine, ClaimNumberCounter
from .edi import BatchClaim, InboundFile, SubmissionBatch  # EDI (docs/domain/edi.md)
from .fees import FeeBand, FeeScheduleEntry, SupplierCharge
from .payers import Authorization, Coverage, Payer
from .payments import Adjustment, Payment, PaymentAllocation
from .readiness import BillableLine, BillingHold

__all__ = [
    "Adjustment",
    "Authorization",
    "BatchClaim",
    "BillableLine",
    "BillingHold",
    "Claim",
    "ClaimLine",
    "ClaimNumberCounter",
    "Coverage",
    "FeeBand",
    "FeeScheduleEntry",
    "InboundFile",
    "Payer",
    "Payment",
    "PaymentAllocation",
    "SubmissionBatch",
    "SupplierCharge",
]
