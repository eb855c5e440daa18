"""Acknowledgement handlers: 999 (005010X231A1) and 277CA (005010X214).

Registered with the inbox by transaction set id. Each reads the transaction set, finds
our batch or claims, and calls ``hme.services.submission`` (the one place claim and
batch states change). Code words come from the X12 external code lists named below;
a code missing from our tables is shown as its code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..models.edi import BatchClaim, BatchClaimStatus, BatchStatus, SubmissionBatch
from ..services.submission import accept_claim, settle_batch, withdraw_submission
from .inbox import InboxContext, register_handler
from .x12 import Segment, Transaction

# 999 IK5-01 / AK9-01 acknowledgement codes (005010X231A1).
ACK_CODES = {
    "A": "accepted",
    "E": "accepted with errors noted",
    "P": "partially accepted",
    "M": "rejected (message authentication code failed)",
    "R": "rejected",
    "W": "rejected (assurance failed validity tests)",
    "X": "rejected (content could not be analyzed after decryption)",
}
ACCEPTED_ACKS = {"A", "E"}
# 999 IK3-04 segment syntax error codes (005010X231A1, code source 720).
SEGMENT_ERRORS = {
    "1": "unrecognized segment ID",
    "2": "unexpected segment",
    "3": "required segment missing",
    "4": "loop occurs over maximum times",
    "5": "segment exceeds maximum use",
    "6": "segment not in defined transaction set",
    "7": "segment not in proper sequence",
    "8": "segment has data element errors",
    "I4": "implementation 'not used' segment present",
    "I6": "implementation dependent segment missing",
    "I7": "implementation loop occurs under minimum times",
    "I8": "implementation segment below minimum use",
    "I9": "implementation dependent 'not used' segment present",
}
# 999 IK4-03 data element error codes (005010X231A1, code source 621).
ELEMENT_ERRORS = {
    "1": "required data element missing",
    "2": "conditional required data element missing",
    "3": "too many data elements",
    "4": "data element too short",
    "5": "data element too long",
    "6": "invalid character in data element",
    "7": "invalid code value",
    "8": "invalid date",
    "9": "invalid time",
    "10": "exclusion condition violated",
    "12": "too many repetitions",
    "13": "too many components",
    "I6": "code value not used in implementation",
    "I9": "implementation dependent data element missing",
    "I10": "implementation 'not used' data element present",
    "I11": "implementation too few repetitions",
    "I12": "implementation pattern match failure",
    "I13": "implementation dependent 'not used' data element present",
}
# 277CA STC01-1 claim status category codes (X12 external code source 507).
CATEGORY_CODES = {
    "A0": "Acknowledgement: forwarded",
    "A1": "Acknowledgement: receipt",
    "A2": "Acknowledgement: accepted into the adjudication system",
    "A3": "Acknowledgement: returned as unprocessable claim",
    "A4": "Acknowledgement: not found",
    "A5": "Acknowledgement: split claim",
    "A6": "Acknowledgement: rejected for missing information",
    "A7": "Acknowledgement: rejected for invalid information",
    "A8": "Acknowledgement: rejected for relational field in error",
}
ACCEPTED_CATEGORIES = {"A2", "A5"}
REJECTED_CATEGORIES = {"A3", "A4", "A6", "A7", "A8"}
# 277CA STC01-2 claim status codes (X12 external code source 508), the common ones.
STATUS_CODES = {
    "0": "cannot provide further status electronically",
    "19": "entity acknowledges receipt of claim/encounter",
    "20": "accepted for processing",
    "21": "missing or invalid information",
    "35": "claim/encounter not found",
    "54": "duplicate of a previously processed claim/line",
    "187": "date(s) of service",
    "562": "entity's National Provider Identifier (NPI)",
}
# STC01-3 entity identifier codes (X12 code source 98), those our claims name.
ENTITY_CODES = {
    "40": "receiver",
    "41": "submitter",
    "85": "billing provider",
    "DK": "ordering provider",
    "DN": "referring provider",
    "IL": "subscriber",
    "PR": "payer",
    "QC": "patient",
}


def _words(table: dict[str, str], code: str) -> str:
    return table.get(code, f"code {code}")


# 999 ---------------------------------------------------------------------------------


@dataclass
class _SetAnswer:
    control_number: str
    segment: Segment
    errors: list[str] = field(default_factory=list)
    code: str = ""


def handle_999(tx: Transaction, context: InboxContext) -> dict[str, int]:
    """Settle the batch the 999 answers: accepted, or rejected with segment and error."""
    ak1 = next((s for s in tx.body if s.id == "AK1"), None)
    if ak1 is None:
        raise tx.segments[0].error("999 without AK1")
    if ak1[1] != "HC":
        raise ak1.error("This 999 does not answer an 837 (AK101 is not HC)")
    batch = _batch_for_group(context.company, ak1)
    answers, group_code = _set_answers(tx)
    if not group_code:
        raise tx.segments[-1].error("999 without AK9")
    ours = [a for a in answers if a.control_number == batch.transaction_control_number]
    for answer in answers:
        if answer not in ours:
            raise answer.segment.error(
                f"AK202 names a transaction set batch {batch.number} does not have"
            )
    code = ours[0].code if ours else group_code
    accepted = code in ACCEPTED_ACKS and group_code in ACCEPTED_ACKS | {"P"}
    errors = [e for a in ours for e in a.errors]
    reason = ""
    if not accepted:
        reason = f"999: transaction set {_words(ACK_CODES, code)} (IK5 {code}, AK9 {group_code})"
        if errors:
            reason += "; " + "; ".join(errors)
        reason += "."
    settle_batch(batch, accepted=accepted, reason=reason)
    return {"999 accepted": 1} if accepted else {"999 rejected": 1}


def _set_answers(tx: Transaction) -> tuple[list[_SetAnswer], str]:
    """Each AK2 transaction set answer (IK3/IK4 errors in words, IK5 code) and AK9."""
    answers: list[_SetAnswer] = []
    current: _SetAnswer | None = None
    group_code = ""
    for seg in tx.body:
        if seg.id == "AK2":
            current = _SetAnswer(control_number=seg[2], segment=seg)
            answers.append(current)
        elif seg.id == "IK3" and current is not None:
            loop = f" (loop {seg[3]})" if seg[3] else ""
            current.errors.append(
                f"segment {seg[1]} at position {seg[2]}{loop}: "
                f"{_words(SEGMENT_ERRORS, seg[4])} (IK3 {seg[4]})"
            )
        elif seg.id == "IK4" and current is not None:
            element = seg.components(1)
            current.errors.append(
                f"element {'-'.join(e for e in element if e)}: "
                f"{_words(ELEMENT_ERRORS, seg[3])} (IK4 {seg[3]})"
            )
        elif seg.id == "IK5" and current is not None:
            current.code = seg[1]
        elif seg.id == "AK9":
            group_code = seg[1]
    return answers, group_code


def _batch_for_group(company: Any, ak1: Segment) -> SubmissionBatch:
    try:
        number = int(ak1[2])
    except ValueError:
        raise ak1.error("AK102 is not a group control number") from None
    batch = SubmissionBatch.objects.filter(company=company, group_control_number=number).first()
    if batch is None:
        raise ak1.error("AK102 names no batch of this company")
    return batch


# 277CA -------------------------------------------------------------------------------


@dataclass
class _ClaimStatus:
    claim_number: str = ""
    payer_claim_number: str = ""
    statuses: list[list[str]] = field(default_factory=list)  # STC01 components
    segment: Segment | None = None


def _claim_statuses(tx: Transaction) -> list[_ClaimStatus]:
    """The 2200D claim-level answers: TRN*2 (our claim number), STC, REF*1K."""
    found: list[_ClaimStatus] = []
    level = ""
    current: _ClaimStatus | None = None
    for seg in tx.body:
        if seg.id == "HL":
            level = seg[3]
            current = None
            if level == "PT":
                current = _ClaimStatus(segment=seg)
                found.append(current)
        elif seg.id == "SVC":
            # 2220D line-level status follows; claim-level segments are done.
            level = "line"
        elif current is None or level != "PT":
            continue
        elif seg.id == "TRN" and seg[1] == "2":
            current.claim_number = seg[2]
        elif seg.id == "STC":
            current.statuses.append(seg.components(1))
        elif seg.id == "REF" and seg[1] == "1K":
            current.payer_claim_number = seg[2]
    return found


def _describe(statuses: list[list[str]]) -> tuple[str, str]:
    codes, words = [], []
    for parts in statuses:
        category, status, entity = ([*parts, "", "", ""])[:3]
        codes.append(":".join(p for p in (category, status, entity) if p))
        text = f"{_words(CATEGORY_CODES, category)}: {_words(STATUS_CODES, status)}"
        if entity:
            text += f" ({_words(ENTITY_CODES, entity)})"
        words.append(f"{text} [{codes[-1]}]")
    return ", ".join(codes), "; ".join(words)


def handle_277(tx: Transaction, context: InboxContext) -> dict[str, int]:
    """Each claim of a 277CA: accepted (processing, payer claim number) or rejected
    (back to the biller with the status and category codes in words)."""
    counts = {"277CA accepted": 0, "277CA rejected": 0, "277CA unmatched": 0, "277CA noted": 0}
    for answer in _claim_statuses(tx):
        assert answer.segment is not None
        if not answer.claim_number or not answer.statuses:
            raise answer.segment.error("2200D without TRN*2 claim number or STC")
        item = (
            BatchClaim.objects.filter(
                company=context.company,
                claim__number=answer.claim_number,
                batch__status__in=(BatchStatus.SENT, BatchStatus.ACCEPTED),
            )
            .select_related("batch")
            .order_by("-batch__sent_at")
            .first()
        )
        if item is None:
            counts["277CA unmatched"] += 1
            continue
        categories = {parts[0] for parts in answer.statuses}
        codes, words = _describe(answer.statuses)
        if categories & REJECTED_CATEGORIES:
            withdraw_submission(item, codes=codes, reason=f"277CA: {words}")
            counts["277CA rejected"] += 1
        elif categories & ACCEPTED_CATEGORIES:
            if item.status != BatchClaimStatus.ACCEPTED:
                accept_claim(
                    item,
                    codes=codes,
                    reason=f"277CA: {words}",
                    payer_claim_number=answer.payer_claim_number,
                )
            counts["277CA accepted"] += 1
        else:
            # A0/A1 (forwarded, received): nothing to decide yet.
            counts["277CA noted"] += 1
    return {k: v for k, v in counts.items() if v}


register_handler("999", handle_999)
register_handler("277", handle_277)
