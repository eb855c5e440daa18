"""The status transition tables of the billing app: one per model, used by every service.

Claims (docs/domain/hme-billing.md)::

    pending ──> processing ──> approved ──> paid
       ^            │             (when payments cover the allowed amount)
       │            └──> denied
       └───(corrected and resubmitted)──┘
    pending, processing, approved, denied ──> void
    approved, paid ──> processing   (the payer reverses its adjudication: 835 CLP02 22)

*Submitting* is the act of sending the claim to the payer, not a status: it sets
``submitted_at`` and the claim stays **pending** until the payer acknowledges it
(``mark_processing``: pending -> processing). Only a submitted pending claim can be
acknowledged, and a pending claim is submitted once; a denied claim is corrected and
resubmitted in one step (``resubmit_claim``: denied -> pending, sent again). Void is
final; paid is final for staff.

A payer's *reversal* (835 claim status code CLP02 = 22, "Reversal of Previous Payment";
ASC X12 005010X221A1 section 1.10.2.8 "Reversals and Corrections") takes back the
adjudication of an approved or paid claim: its payment is recouped and the claim waits
for the corrected claim payment (CLP02 1/2/3/4) that follows, which adjudicates it
again. So approved -> processing and paid -> processing are in the table, made only by
``hme.services.claims.reverse_adjudication`` (called by the 835 posting); acknowledging
a claim (``mark_processing``) stays pending -> processing only.

Authorizations: requested -> approved | denied; approved -> expired (past its validity).
"""

from typing import TYPE_CHECKING

from core.transitions import allowed_labels, check_transition

from .choices import AuthorizationStatus, ClaimStatus

if TYPE_CHECKING:
    from .models import Authorization, Claim

CLAIM_TRANSITIONS = {
    ClaimStatus.PENDING: {ClaimStatus.PROCESSING, ClaimStatus.VOID},
    ClaimStatus.PROCESSING: {ClaimStatus.APPROVED, ClaimStatus.DENIED, ClaimStatus.VOID},
    # -> processing: the payer's reversal (005010X221A1 CLP02 22), reverse_adjudication.
    ClaimStatus.APPROVED: {ClaimStatus.PAID, ClaimStatus.PROCESSING, ClaimStatus.VOID},
    ClaimStatus.DENIED: {ClaimStatus.PENDING, ClaimStatus.VOID},
    ClaimStatus.PAID: {ClaimStatus.PROCESSING},
    ClaimStatus.VOID: set(),
}

AUTHORIZATION_TRANSITIONS = {
    AuthorizationStatus.REQUESTED: {AuthorizationStatus.APPROVED, AuthorizationStatus.DENIED},
    AuthorizationStatus.APPROVED: {AuthorizationStatus.EXPIRED},
    AuthorizationStatus.DENIED: set(),
    AuthorizationStatus.EXPIRED: set(),
}


def _check(table, what, current, target):
    def refusal(current, target):
        return (
            f"{what} is {current.label.lower()}: it cannot become {target.label.lower()} "
            f"(from {current.label.lower()} it can become: {allowed_labels(table, current)})."
        )

    check_transition(
        table,
        current,
        target,
        message=refusal,
        fields={"status": [f"Cannot go from {current} to {target}."]},
    )


def check_claim_transition(claim: "Claim", target: ClaimStatus) -> None:
    _check(CLAIM_TRANSITIONS, f"Claim {claim.number}", claim.status, target)


def check_authorization_transition(
    authorization: "Authorization", target: AuthorizationStatus
) -> None:
    _check(
        AUTHORIZATION_TRANSITIONS,
        f"Authorization {authorization.number or '(requested)'}",
        authorization.status,
        target,
    )
