"""Billing admin, one module per topic; importing them registers their ModelAdmins.

Nothing here changes a status or money by itself: creating and correcting claims, every
status change and every payment posting go through ``hme.services``. A service's
refusal is shown on the form with what the user typed
(``core.admin_actions.ServiceErrorsInFormMixin``) or, for list actions, as one message
per claim.
"""

from . import (
    authorizations,
    batches,
    billing,
    claims,
    coverage,
    fees,
    payers,
    payments,
    readiness,  # the Ready to bill / On hold worklist
    remittance,  # money in: 835s, unmatched worklist, statements, eligibility
)

__all__ = [
    "authorizations",
    "batches",
    "billing",
    "claims",
    "coverage",
    "fees",
    "payers",
    "payments",
    "readiness",
    "remittance",
]
