"""Eligibility through the clearinghouse: send a 270, apply the 271 when it comes.

``request_eligibility`` builds the coverage's 270 (``hme.edi.x270``) and hands it to the
clearinghouse adapter (``hme.edi.adapters``; the directory drop by default), recording
an ``EligibilityCheck`` waiting for its answer. The exchange is asynchronous: the inbox
(``hme.edi.inbox``) dispatches each 271 to ``handle_271``, which finds the check by the
trace it echoes and records the answer (active or not, plan dates, DME deductible left
and coinsurance, AAA rejections). An active answer verifies the coverage (who asked,
when answered). ``hme.services.coverage.verify_coverage`` stays the manual fallback.
"""

from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.exceptions import ServiceError
from core.locks import lock_row

from ..edi.adapters import get_adapter
from ..edi.inbox import InboxContext, register_handler
from ..edi.x12 import Transaction
from ..edi.x270 import Answer, Inquiry, build_270, parse_271
from ..models import Coverage, EligibilityCheck
from ..models.remittance import EligibilityNumberCounter, EligibilityStatus


def _acting(user: Any) -> Any:
    return user if getattr(user, "is_authenticated", False) else None


def request_eligibility(coverage: Coverage, user: Any = None) -> EligibilityCheck:
    """Send the coverage's 270 now; the check waits for the 271 (status *sent*).

    Refused when the supplier has no NPI or the payer no payer id (they identify the
    inquiry), or when the adapter cannot deliver (``AdapterError``): nothing is kept."""
    company = coverage.company
    payer = coverage.payer
    if not company.npi:
        raise ServiceError(
            "Set the company's NPI before checking eligibility with the payer.",
            code="no_npi",
        )
    if not payer.payer_id:
        raise ServiceError(
            f"{payer} has no payer id: set it, or record a manual verification.",
            code="no_payer_id",
        )
    with transaction.atomic():
        coverage = lock_row(coverage, "payer", "patient")
        number = EligibilityNumberCounter.next_number(coverage.company_id)
        reference = f"E{number:09d}"
        now = timezone.now()
        patient = coverage.patient
        data = build_270(
            Inquiry(
                reference=reference,
                control_number=number,
                payer_name=payer.name,
                payer_id=payer.payer_id,
                provider_name=company.name,
                provider_npi=company.npi,
                last_name=patient.last_name,
                first_name=patient.first_name,
                member_id=coverage.member_id or "",
                date_of_birth=patient.dob,
                day=timezone.localdate(),
                moment=timezone.localtime(now),
                usage=getattr(settings, "EDI_USAGE_INDICATOR", "P"),
            )
        )
        check = EligibilityCheck.objects.create(
            company_id=coverage.company_id,
            coverage=coverage,
            status=EligibilityStatus.SENT,
            control_number=reference,
            checked_by=_acting(user),
        )
        # Named by the reference, never by the patient.
        get_adapter().send(coverage.company_id, f"270-{reference}.x12", [data])
    return check


def record_manual_check(coverage: Coverage, user: Any = None) -> EligibilityCheck:
    """The fallback: staff checked with the payer themselves (portal, phone)."""
    return EligibilityCheck.objects.create(
        company_id=coverage.company_id,
        coverage=coverage,
        status=EligibilityStatus.MANUAL,
        answered_at=timezone.now(),
        checked_by=_acting(user),
    )


def apply_answer(company: Any, answer: Answer) -> EligibilityCheck:
    """Record one 271 answer on the check it answers (found by its trace)."""
    check: EligibilityCheck | None = (
        EligibilityCheck.objects.select_for_update()
        .filter(company=company, control_number=answer.reference)
        .first()
    )
    if check is None:
        raise ServiceError(
            f"The 271 answers inquiry {answer.reference}, which this company did not send.",
            code="unknown_inquiry",
        )
    if check.status != EligibilityStatus.SENT:
        return check  # the same 271 again: already applied
    if answer.rejections:
        check.status = EligibilityStatus.REJECTED
    elif answer.active:
        check.status = EligibilityStatus.ACTIVE
    else:
        check.status = EligibilityStatus.INACTIVE
    check.plan_begin = answer.plan_begin
    check.plan_end = answer.plan_end
    check.deductible_remaining = answer.deductible_remaining
    check.coinsurance_percent = answer.coinsurance_percent
    check.rejection_reasons = answer.rejections
    check.answered_at = timezone.now()
    check.save()
    if check.status == EligibilityStatus.ACTIVE:
        coverage = lock_row(check.coverage)
        coverage.verified_at = check.answered_at
        coverage.verified_by = check.checked_by
        coverage.save(update_fields=["verified_at", "verified_by"])
    return check


def handle_271(tx: Transaction, context: InboxContext) -> dict[str, int]:
    """The inbox's handler for ST*271 (inside the file's transaction)."""
    answers = parse_271(tx)
    for answer in answers:
        apply_answer(context.company, answer)
    return {"271 answers": len(answers)}


register_handler("271", handle_271)
