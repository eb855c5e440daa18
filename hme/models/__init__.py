"""Payers, coverage, prior authorization, claims, payments and denials.

Split by topic; import models from here (``from hme.models import Claim``).
"""

from .claims import Claim, ClaimLine, ClaimNumberCounter
from .payers import Authorization, Coverage, Payer
from .payments import Adjustment, Payment, PaymentAllocation
from .readiness import BillableLine, BillingHold

__all__ = [
    "Adjustment",
    "Authorization",
    "BillableLine",
    "BillingHold",
    "Claim",
    "ClaimLine",
    "ClaimNumberCounter",
    "Coverage",
    "Payer",
    "Payment",
    "PaymentAllocation",
]
