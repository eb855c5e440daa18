"""Audit history for every billing model; core.audit masks each encrypted column
(the member ID) and leaves its blind index out."""

from core import audit

from .models import (
    Adjustment,
    Authorization,
    Claim,
    ClaimLine,
    ClaimNumberCounter,
    Coverage,
    PatientPayment,
    PatientPaymentAllocation,
    Payer,
    Payment,
    PaymentAllocation,
)

for model in (
    Payer,
    Coverage,
    Authorization,
    Claim,
    ClaimLine,
    Payment,
    PaymentAllocation,
    Adjustment,
    PatientPayment,
    PatientPaymentAllocation,
    # Only its creation is ever logged: numbers are drawn with UPDATE ... + 1.
    ClaimNumberCounter,
):
    audit.register(model)
