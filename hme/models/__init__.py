"""Payers, coverage, prior authorization, claims, payments and denials.

Split by topic; import models from here (``from hme.models import Claim``).
"""

from .claims import Claim, ClaimLine, ClaimNumberCounter
from .edi import BatchClaim, InboundFile, SubmissionBatch  # EDI (docs/domain/edi.md)
from .fees import FeeBand, FeeScheduleEntry, SupplierCharge
from .payers import Authorization, Coverage, Payer
from .payments import (
    Adjustment,
    PatientPayment,
    PatientPaymentAllocation,
    PatientPaymentMethod,
    Payment,
    PaymentAllocation,
)
from .readiness import BillableLine, BillingHold
from .remittance import (  # money in: 835, statements, 270/271
    AllocationRemark,
    EligibilityCheck,
    PatientStatement,
    ProviderAdjustment,
    RemittanceClaim,
    RemittanceImport,
    SecondaryClaim,
    StatementRun,
)

__all__ = [
    "Adjustment",
    "AllocationRemark",
    "Authorization",
    "BatchClaim",
    "BillableLine",
    "BillingHold",
    "Claim",
    "ClaimLine",
    "ClaimNumberCounter",
    "Coverage",
    "EligibilityCheck",
    "FeeBand",
    "FeeScheduleEntry",
    "InboundFile",
    "PatientPayment",
    "PatientPaymentAllocation",
    "PatientPaymentMethod",
    "PatientStatement",
    "Payer",
    "Payment",
    "PaymentAllocation",
    "ProviderAdjustment",
    "RemittanceClaim",
    "RemittanceImport",
    "SecondaryClaim",
    "StatementRun",
    "SubmissionBatch",
    "SupplierCharge",
]
