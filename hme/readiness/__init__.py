"""Ready to bill: the reasons an order line (or a claim) cannot be billed yet.

One function family feeds the admin panels, the "Ready to bill / On hold" worklist,
the API and billing's hold (docs/domain/hme-billing.md, "Ready to bill")::

    from hme import readiness
    readiness.line_reasons(lines)            # {line id: [Reason, ...]}
    readiness.order_reasons(orders)          # {order id: {line id: [Reason, ...]}}
    readiness.claim_reasons(claims)          # {claim id: [Reason, ...]}
    readiness.assert_billable(lines)         # ServiceError(code="on_hold") on an error

Apps on higher floors add reasons with :func:`register_check` (see ``base.py``).
"""

from . import checks  # noqa: F401  (registers the built-in checks)
from .base import Batch, Fix, Reason, Severity, register_check, registered_checks, unregister_check
from .compute import (
    SERVICE_ENFORCED,
    assert_billable,
    assert_rental_billable,
    claim_reasons,
    holding,
    line_reasons,
    load_batch,
    order_reasons,
    order_summaries,
    summarize,
)

__all__ = [
    "SERVICE_ENFORCED",
    "Batch",
    "Fix",
    "Reason",
    "Severity",
    "assert_billable",
    "assert_rental_billable",
    "claim_reasons",
    "holding",
    "line_reasons",
    "load_batch",
    "order_reasons",
    "order_summaries",
    "register_check",
    "registered_checks",
    "summarize",
    "unregister_check",
]
