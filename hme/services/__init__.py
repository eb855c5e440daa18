"""Every operation that changes billing state: one function each, atomic, raising
``core.exceptions`` errors whose message says what to do.

Admin actions, API views, Celery tasks and the demo data call these; none
re-implements them. The status transition tables are in ``hme.transitions``.
"""

from ..transitions import AUTHORIZATION_TRANSITIONS, CLAIM_TRANSITIONS

# Money in (835, 271): importing them registers their clearinghouse inbox handlers.
from . import eligibility, remittance
from .authorizations import (
    approve_authorization,
    deny_authorization,
    draw_units,
    expire_authorizations,
    find_authorization,
)
from .billing import (
    RentalBillingRun,
    bill_delivery,
    bill_next_rental_month,
    bill_rental,
    bill_rental_month,
    bill_rental_months,
    create_claim_for_delivery,
    rental_month_charge,
)
from .claims import (
    approve_claim,
    create_claim,
    deny_claim,
    filing_deadline,
    find_duplicate,
    mark_processing,
    recalculate_claim,
    replace_claim,
    resubmit_claim,
    reverse_adjudication,
    submit_claim,
    update_claim,
    void_claim,
)
from .coverage import coverage_on, refresh_coverage_status, verify_coverage
from .fees import expected_for, flag_underpayment, import_fee_schedule, read_fee_rows
from .payments import (
    is_covered,
    post_payment,
    record_patient_payment,
    record_payment,
    settle_claim,
)

__all__ = [
    "AUTHORIZATION_TRANSITIONS",
    "CLAIM_TRANSITIONS",
    "RentalBillingRun",
    "approve_authorization",
    "approve_claim",
    "bill_delivery",
    "bill_next_rental_month",
    "bill_rental",
    "bill_rental_month",
    "bill_rental_months",
    "coverage_on",
    "create_claim",
    "create_claim_for_delivery",
    "deny_authorization",
    "deny_claim",
    "draw_units",
    "eligibility",
    "expected_for",
    "expire_authorizations",
    "filing_deadline",
    "find_authorization",
    "find_duplicate",
    "flag_underpayment",
    "import_fee_schedule",
    "is_covered",
    "mark_processing",
    "post_payment",
    "read_fee_rows",
    "recalculate_claim",
    "record_patient_payment",
    "record_payment",
    "refresh_coverage_status",
    "remittance",
    "rental_month_charge",
    "replace_claim",
    "resubmit_claim",
    "reverse_adjudication",
    "settle_claim",
    "submit_claim",
    "update_claim",
    "verify_coverage",
    "void_claim",
]
