"""The status transition tables of the billing app: one per model, used by every service.

Claims (DESIGN.md 7)::

    pending ──> processing ──> approved ──> paid
       ^            │             (when payments cover the allowed amount)
       │            └──> denied
       └───(corrected and resubmitted)──┘
    pending, processing, approved, denied ──> void

*Submitting* is the act of sending the claim to the payer, not a status: it sets
``submitted_at`` and the claim stays **pending** until the payer acknowledges it
(``mark_processing``: pending -> processing). Only a submitted pending claim can be
acknowledged, and a pending claim is submitted once; a denied claim is corrected and
resubmitted in one step (``resubmit_claim``: denied -> pending, sent again). Paid and
void are final.

Authorizations: requested -> approved | denied; approved -> expired (past its validity).
"""

from core.exceptions import InvalidTransition

from .choices import AuthorizationStatus, ClaimStatus

CLAIM_TRANSITIONS = {
    ClaimStatus.PENDING: {ClaimStatus.PROCESSING, ClaimStatus.VOID},
    ClaimStatus.PROCESSING: {ClaimStatus.APPROVED, ClaimStatus.DENIED, ClaimStatus.VOID},
    ClaimStatus.APPROVED: {ClaimStatus.PAID, ClaimStatus.VOID},
    ClaimStatus.DENIED: {ClaimStatus.PENDING, ClaimStatus.VOID},
    ClaimStatus.PAID: set(),
    ClaimStatus.VOID: set(),
}

AUTHORIZATION_TRANSITIONS = {
    AuthorizationStatus.REQUESTED: {AuthorizationStatus.APPROVED, AuthorizationStatus.DENIED},
    AuthorizationStatus.APPROVED: {AuthorizationStatus.EXPIRED},
    AuthorizationStatus.DENIED: set(),
    AuthorizationStatus.EXPIRED: set(),
}


def _labels(choices, values):
    return ", ".join(choices(value).label.lower() for value in sorted(values)) or "none (final)"


def check_transition(table, choices, what, current, target):
    """Raise ``InvalidTransition`` unless ``table`` allows ``current`` -> ``target``."""
    if target in table[current]:
        return
    raise InvalidTransition(
        f"{what} is {choices(current).label.lower()}: it cannot become "
        f"{choices(target).label.lower()} (from {choices(current).label.lower()} it can "
        f"become: {_labels(choices, table[current])}).",
        fields={"status": [f"Cannot go from {current} to {target}."]},
    )


def check_claim_transition(claim, target):
    check_transition(CLAIM_TRANSITIONS, ClaimStatus, f"Claim {claim.number}", claim.status, target)


def check_authorization_transition(authorization, target):
    check_transition(
        AUTHORIZATION_TRANSITIONS,
        AuthorizationStatus,
        f"Authorization {authorization.number or '(requested)'}",
        authorization.status,
        target,
    )
