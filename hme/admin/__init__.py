"""Billing admin, one module per topic; importing them registers their ModelAdmins.

Nothing here changes a status or money by itself: creating and correcting claims, every
status change and every payment posting go through ``hme.services``. A service's
refusal is shown on the form with what the user typed
(``core.admin_actions.ServiceErrorsInFormMixin``) or, for list actions, as one message
per claim.
"""

from . import (
    authorizations,
    claims,
    coverage,
    payers,
    payments,
    readiness,  # the Ready to bill / On hold worklist
)

__all__ = ["authorizations", "claims", "coverage", "payers", "payments", "readiness"]
