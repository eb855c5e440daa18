"""Payments (remittances) and posting them to claims."""

import datetime
import re
import uuid
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from accounts.models import Company
from clinical.models import Patient
from core.events import emit
from core.exceptions import InvalidTransition, ServiceError
from core.locks import lock_row

from ..choices import ClaimStatus, normalize_carc, validate_carc
from ..models import (
    Adjustment,
    AllocationRemark,
    Claim,
    ClaimLine,
    PatientPayment,
    PatientPaymentAllocation,
    PatientPaymentMethod,
    Payer,
    Payment,
    PaymentAllocation,
)
from ..models.claims import ZERO
from ..transitions import check_claim_transition
from .claims import _error_from_validation, money, recalculate_claim
from .fees import flag_underpayment

# Payments post to adjudicated claims that were approved; a paid claim may still get
# a late line payment from the same remittance run.
POSTABLE_STATUSES = (ClaimStatus.APPROVED, ClaimStatus.PAID)


def record_payment(
    *,
    company: Company,
    payer: Payer,
    number: str | None,
    paid_date: datetime.date,
    amount: object,
    method: str | None = None,
    note: str | None = "",
    allocations: Sequence[Mapping[str, Any]] = (),
) -> Payment:
    """Record a payment from ``payer`` and post its ``allocations`` (see
    :func:`post_payment`) in one transaction: a refused allocation records nothing."""
    with transaction.atomic():
        payment = Payment(
            company=company,
            payer=payer,
            number=(number or "").strip(),
            paid_date=paid_date,
            amount=money(amount, "payment amount"),
            note=note or "",
        )
        if method:
            payment.method = method
        try:
            payment.full_clean()
        except ValidationError as error:
            raise _error_from_validation(error) from error
        payment.save()
        if allocations:
            payment = post_payment(payment, allocations)
    return payment


def is_covered(claim: Claim) -> bool:
    """Payments cover the allowed amount: what the payer paid plus what it assigned to
    the patient (PR adjustments: deductible, coinsurance, copay) reaches the allowed
    amount. The payer's part is then settled; the patient's part is billed to the
    patient or the secondary payer. With no PR adjustment this is paid >= allowed."""
    return claim.allowed_amount > ZERO and (
        claim.paid_amount + claim.patient_responsibility >= claim.allowed_amount
    )


Cleaned = tuple[Claim, ClaimLine | None, Decimal, list[tuple[str, str, Decimal]]]


def _clean_allocation(payment: Payment, index: int, data: Mapping[str, Any]) -> Cleaned:
    """Check one allocation dict; return (claim, line, amount, adjustments)."""
    where = f"Allocation {index}"
    claim = data.get("claim")
    if not isinstance(claim, Claim):
        raise ServiceError(f"{where}: choose the claim it pays.", fields={"claim": ["Required."]})
    if claim.company_id != payment.company_id:
        raise ServiceError(f"{where}: choose one of your company's claims.")
    if claim.payer_id != payment.payer_id:
        raise ServiceError(
            f"{where}: claim {claim.number} is billed to {claim.payer}, not to {payment.payer}.",
            fields={"claim": ["Billed to another payer."]},
        )
    line = data.get("claim_line")
    if line is not None and (not isinstance(line, ClaimLine) or line.claim_id != claim.pk):
        raise ServiceError(
            f"{where}: that line is not on claim {claim.number}.",
            fields={"claim_line": ["Not on this claim."]},
        )
    amount = money(data.get("amount", ZERO), f"amount of allocation {index}")
    adjustments: list[tuple[str, str, Decimal]] = []
    for item in data.get("adjustments") or ():
        group = str(item.get("group", "")).strip().upper()
        code = normalize_carc(item.get("code"))
        try:
            validate_carc(group, code)
        except ValidationError as error:
            raise _error_from_validation(error, prefix=f"{where}: ") from error
        adjustment_amount = money(item.get("amount"), f"{group}-{code} adjustment amount")
        if adjustment_amount == ZERO:
            raise ServiceError(f"{where}: the {group}-{code} adjustment has no amount.")
        adjustments.append((group, code, adjustment_amount))
    if amount == ZERO and not adjustments:
        raise ServiceError(f"{where}: give an amount or at least one adjustment.")
    return claim, line, amount, adjustments


def _dollars(value: Decimal) -> str:
    return f"${value:,.2f}"


def _save_allocation(
    payment: Payment,
    claim: Claim,
    line: ClaimLine | None,
    amount: Decimal,
    adjustments: list[tuple[str, str, Decimal]],
    remarks: Sequence[object],
) -> PaymentAllocation:
    allocation = PaymentAllocation(
        company_id=payment.company_id,
        payment=payment,
        claim=claim,
        claim_line=line,
        amount=amount,
    )
    allocation.save()
    for group, code, adjustment_amount in adjustments:
        Adjustment(
            company_id=payment.company_id,
            allocation=allocation,
            group=group,
            code=code,
            amount=adjustment_amount,
        ).save()
    for remark in remarks:
        AllocationRemark(
            company_id=payment.company_id, allocation=allocation, code=str(remark)[:8]
        ).save()
    return allocation


def post_payment(
    payment: Payment,
    allocations: Sequence[Mapping[str, Any]],
    *,
    created: list[PaymentAllocation] | None = None,
) -> Payment:
    """Allocate ``payment`` to claims (or their lines), with adjustments.

    ``allocations``: dicts with ``claim``, optional ``claim_line``, ``amount`` and
    ``adjustments`` (dicts with ``group``, ``code``, ``amount``). In one transaction,
    under a lock on the payment row: everything is checked first, then written. The
    allocations already posted plus these may not exceed the payment ("Over-posting",
    code ``over_posting``); claims must be the payment's payer's and approved (or
    paid). Afterwards each claim's paid amount and patient responsibility are
    recomputed, and approved claims that the payments now cover (see
    :func:`is_covered`) become paid. A refusal writes nothing.

    An allocation may carry ``remarks`` (RARC codes of an 835, kept as
    ``AllocationRemark``); the allocations made are appended to ``created`` when given.
    """
    if not allocations:
        raise ServiceError("Give at least one allocation.", fields={"allocations": ["Empty."]})
    with transaction.atomic():
        payment = lock_row(payment, "payer")
        cleaned = [
            _clean_allocation(payment, index, data) for index, data in enumerate(allocations, 1)
        ]
        new_total = sum((amount for _, _, amount, _ in cleaned), ZERO)
        # Kept equal to the sum of the allocations under this row's lock (constant time
        # however many allocations the payment has: an 835 posts thousands).
        posted = payment.allocated_amount
        left = payment.amount - posted
        if new_total > left:
            raise ServiceError(
                f"Over-posting: these allocations total {_dollars(new_total)}, but only "
                f"{_dollars(left)} is left on this payment ({_dollars(posted)} of "
                f"{_dollars(payment.amount)} already allocated). Nothing was posted.",
                code="over_posting",
                fields={"allocations": [f"At most {_dollars(left)} in total."]},
            )
        # Lock the claims in a fixed order (two posters never deadlock).
        claim_ids = sorted({claim.pk for claim, _, _, _ in cleaned}, key=str)
        claims = {c.pk: c for c in Claim.objects.select_for_update().filter(pk__in=claim_ids)}
        for pk in claim_ids:
            claim = claims[pk]
            if claim.status not in POSTABLE_STATUSES:
                raise InvalidTransition(
                    f"Claim {claim.number} is {claim.get_status_display().lower()}: payments "
                    "post to approved claims (approve it with its allowed amount first).",
                    code="claim_not_approved",
                )
        lines_touched: set[uuid.UUID] = set()
        for (claim, line, amount, adjustments), data in zip(cleaned, allocations, strict=True):
            allocation = _save_allocation(
                payment, claims[claim.pk], line, amount, adjustments, data.get("remarks") or ()
            )
            if created is not None:
                created.append(allocation)
            if line is not None:
                lines_touched.add(line.pk)
        for line in ClaimLine.objects.filter(pk__in=lines_touched):
            line.paid_amount = line.allocations.aggregate(total=Sum("amount"))["total"] or ZERO
            line.save(update_fields=["paid_amount"])
        payment.allocated_amount = posted + new_total
        payment.save(update_fields=["allocated_amount"])
        emit(
            "payment.posted",
            payment,
            {"payer_id": payment.payer_id, "claim_ids": claim_ids, "amount": new_total},
            company=payment.company_id,
        )
        for pk in claim_ids:
            settle_claim(flag_underpayment(recalculate_claim(claims[pk])), payment.pk)
    return payment


def settle_claim(claim: Claim, payment_id: Any) -> Claim:
    """The one rule that makes a claim paid: an approved claim that its payments cover
    (:func:`is_covered`) becomes paid. Called after every posting, the payer's
    (``post_payment``) and the patient's (``record_patient_payment``)."""
    if claim.status == ClaimStatus.APPROVED and is_covered(claim):
        check_claim_transition(claim, ClaimStatus.PAID)
        claim.status = ClaimStatus.PAID
        claim.paid_at = timezone.now()
        claim.save(update_fields=["status", "paid_at"])
        emit(
            "claim.paid",
            claim,
            {"payer_id": claim.payer_id, "payment_id": payment_id},
            company=claim.company_id,
        )
    return claim


# Patient payments ---------------------------------------------------------------------

# A card number (PAN) is 12 to 19 digits: never stored (PCI DSS v4.0 requirement 3.2,
# keep no account data you do not need); the reference is an approval code + last 4.
_CARD_NUMBER = re.compile(r"\d[\d -]{10,}\d")


def record_patient_payment(
    *,
    patient: Patient,
    amount: object,
    method: str,
    reference: str | None = "",
    received_at: datetime.datetime | None = None,
    user: Any = None,
    claim: Claim | None = None,
) -> PatientPayment:
    """Record money the patient paid toward their share and apply it to their open
    patient-share lines (``hme.services.statements.open_patient_shares``), oldest date of
    service first (only ``claim``'s lines when given), in one transaction under a lock
    on the patient's row.

    More than the patient owes (on ``claim``, when given) is refused (code
    ``over_payment``): AriesOne keeps no credit balance, so a refund or an over-payment
    is handled outside it and only what is due is recorded. Each claim paid on is then
    settled by the same rule as a payer's payment (:func:`settle_claim`). The next
    statement shows the payment and the lower amounts due."""
    from .statements import open_patient_shares

    value = money(amount, "payment amount")
    if value <= ZERO:
        raise ServiceError(
            "A patient payment is more than $0.00.", fields={"amount": ["More than 0."]}
        )
    reference = (reference or "").strip()
    if method == PatientPaymentMethod.CARD and _CARD_NUMBER.search(reference):
        raise ServiceError(
            "Never record a card number: give the approval code and the last 4 digits.",
            code="card_number",
            fields={"reference": ["Approval code and last 4 digits only."]},
        )
    with transaction.atomic():
        patient = lock_row(patient)
        if claim is not None and (
            claim.company_id != patient.company_id or claim.patient_id != patient.pk
        ):
            raise ServiceError(
                "Choose one of this patient's claims.", fields={"claim": ["Not this patient's."]}
            )
        shares = open_patient_shares(patient.company, [patient.pk])
        lines = [
            line
            for share in shares
            for line in share.lines
            if claim is None or line.claim_id == claim.pk
        ]
        owed = sum((line.due for line in lines), ZERO)
        if value > owed:
            where = f" on claim {claim.number}" if claim is not None else ""
            raise ServiceError(
                f"Over-payment: {_dollars(value)} is more than the {_dollars(owed)} the patient "
                f"owes{where}. AriesOne keeps no credit: record at most what is due and "
                "return or refund the rest. Nothing was recorded.",
                code="over_payment",
                fields={"amount": [f"At most {_dollars(owed)}."]},
            )
        payment = PatientPayment(
            company_id=patient.company_id,
            patient=patient,
            method=method,
            reference=reference,
            amount=value,
            received_at=received_at or timezone.now(),
            received_by=user if getattr(user, "is_authenticated", False) else None,
        )
        try:
            payment.full_clean()
        except ValidationError as error:
            raise _error_from_validation(error) from error
        payment.save()
        left = value
        claim_ids = []
        for line in lines:  # oldest date of service first
            part = min(left, line.due)
            if part <= ZERO:
                break
            PatientPaymentAllocation(
                company_id=patient.company_id,
                payment=payment,
                claim_id=line.claim_id,
                claim_line_id=line.claim_line_id,
                amount=part,
            ).save()
            left -= part
            if line.claim_id not in claim_ids:
                claim_ids.append(line.claim_id)
        for paid_claim in Claim.objects.select_for_update().filter(pk__in=claim_ids).order_by("pk"):
            settle_claim(recalculate_claim(paid_claim), payment.pk)
    return payment
