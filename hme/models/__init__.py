"""Payers, coverage, prior authorization, claims, payments and denials.

Split by topic; import models from here (``from hme.models import Claim``).
"""

from .claims import Claim, ClaimLine, ClaimNumberCounter
from .fees import FeeBand, FeeScheduleEntry, SupplierCharge
from .payers import Authorization, Coverage, Payer
from .payments import Adjustment, Payment, PaymentAllocation

__all__ = [
    "Adjustment",
    "Authorization",
    "Claim",
    "ClaimLine",
    "ClaimNumberCounter",
    "Coverage",
    "FeeBand",
    "FeeScheduleEntry",
    "Payer",
    "Payment",
    "PaymentAllocation",
    "SupplierCharge",
]
