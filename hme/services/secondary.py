"""Secondary claims and the patient's share (coordination of benefits).

After the primary payer pays, the patient-responsibility balance (PR adjustments:
deductible, coinsurance, copay) goes to the patient's secondary coverage in force on the
date of service, as a new claim with the same lines (charges as billed, the same
order-line links) that carries the primary's payment and adjustments in its 837P
(005010X222A1 loop 2320 other subscriber information: AMT*D paid, CAS claim
adjustments; loop 2430 line adjudication: SVD paid, CAS, DTP*573 adjudication date).
With no secondary coverage the balance is the patient's (``hme.services.statements``).

Contractual (CO) adjustments are write-offs: they are recorded with the payment, passed
to the secondary as information, and never billed to anyone (patients included).
"""

import datetime
from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Min, Sum
from django.utils import timezone

from ..choices import AdjustmentGroup, CoveragePriority
from ..edi.data import RESPONSIBILITY, filing_code, register_other_payer_provider
from ..edi.x837 import Adjustment as X837Adjustment
from ..edi.x837 import OtherPayer, OtherPayerLine
from ..models import Adjustment, Claim, ClaimLine, Coverage, PaymentAllocation, SecondaryClaim
from ..models.claims import ZERO
from .claims import LINE_FIELDS, create_claim

# Line links copied to the secondary's lines (whatever ClaimLine points at besides its
# claim and authorization: order lines, rental months).
_NOT_COPIED = {"company", "claim", "authorization", "created_by", "updated_by"}


def _line_links(line: ClaimLine) -> dict[str, Any]:
    return {
        field.name: getattr(line, field.name)
        for field in ClaimLine._meta.concrete_fields
        if field.is_relation and field.name not in _NOT_COPIED and getattr(line, field.attname)
    }


def secondary_coverage(claim: Claim) -> Coverage | None:
    """The patient's secondary policy in force on the claim's first date of service."""
    first: datetime.date | None = claim.lines.aggregate(first=Min("date_of_service"))["first"]
    if first is None:
        return None
    coverage: Coverage | None = (
        Coverage.objects.filter(
            company_id=claim.company_id,
            patient_id=claim.patient_id,
            priority=CoveragePriority.SECONDARY,
        )
        .in_force_on(first)
        .select_related("payer")
        .order_by("-effective_date")
        .first()
    )
    return coverage


def create_secondary_claim(primary: Claim) -> Claim | None:
    """The secondary claim for ``primary``'s patient-responsibility balance, made once
    (the existing one is returned again); None when there is no balance, the claim is
    not a primary one, or the patient has no secondary coverage then."""
    existing = SecondaryClaim.objects.filter(primary=primary).select_related("claim").first()
    if existing is not None:
        claim: Claim = existing.claim
        return claim
    if primary.coverage.priority != CoveragePriority.PRIMARY:
        return None
    if primary.patient_responsibility <= ZERO:
        return None
    coverage = secondary_coverage(primary)
    if coverage is None:
        return None
    lines = []
    for line in primary.lines.order_by("line_number"):
        data: dict[str, Any] = {name: getattr(line, name) for name in LINE_FIELDS}
        data.update(_line_links(line))
        if line.authorization_id:
            # Billed under the primary's prior authorization: no units drawn again.
            data["authorization"] = line.authorization
        lines.append(data)
    with transaction.atomic():
        secondary = create_claim(
            company=primary.company,
            patient=primary.patient,
            coverage=coverage,
            billing_location=primary.billing_location,
            referring_provider=primary.referring_provider,
            diagnosis_codes=primary.diagnosis_codes,
            lines=lines,
        )
        SecondaryClaim.objects.create(
            company_id=primary.company_id, claim=secondary, primary=primary
        )
    return secondary


def other_payer_data(secondary: Claim) -> dict[str, Any]:
    """What the secondary's 837P says of the primary's adjudication (2320/2430 loops):
    the primary payer, its paid total (AMT*D), claim-level CAS, the patient's balance,
    and for each line (by line number) its paid amount (SVD02), CAS and paid date."""
    link = SecondaryClaim.objects.select_related("primary__payer", "primary__coverage").get(
        claim=secondary
    )
    primary = link.primary
    allocations = list(
        PaymentAllocation.objects.filter(claim=primary)
        .select_related("payment", "claim_line")
        .prefetch_related("adjustments")
        .order_by("created_at")
    )
    claim_adjustments: list[dict[str, Any]] = []
    lines: dict[int, dict[str, Any]] = defaultdict(
        lambda: {"paid": ZERO, "adjustments": [], "paid_date": None}
    )
    for allocation in allocations:
        adjustments = [
            {"group": a.group, "code": a.code, "amount": a.amount}
            for a in allocation.adjustments.all()
        ]
        if allocation.claim_line is None:
            claim_adjustments.extend(adjustments)
            continue
        entry = lines[allocation.claim_line.line_number]
        entry["paid"] += allocation.amount
        entry["adjustments"].extend(adjustments)
        entry["paid_date"] = allocation.payment.paid_date
    paid_date = max((a.payment.paid_date for a in allocations), default=None)
    return {
        "payer": primary.payer,
        "coverage": primary.coverage,
        "claim_number": primary.number,
        "paid": primary.paid_amount,
        "patient_responsibility": primary.patient_responsibility,
        "paid_date": paid_date,
        "adjustments": claim_adjustments,
        "lines": dict(lines),
    }


def write_offs(claim: Claim) -> Decimal:
    """The claim's contractual write-offs (CO): recorded, never billed."""
    total = Adjustment.objects.filter(allocation__claim=claim, group=AdjustmentGroup.CO).aggregate(
        total=Sum("amount")
    )["total"]
    return total or ZERO


def other_payers_for(claim: Claim) -> list[OtherPayer]:
    """The 837P builder's other-payer loops (2320/2330, 2430) of a secondary claim
    (``hme.edi.data.register_other_payer_provider``); none for any other claim."""
    if not SecondaryClaim.objects.filter(claim=claim).exists():
        return []
    data = other_payer_data(claim)
    coverage = data["coverage"]
    patient = claim.patient
    adjudicated = data["paid_date"] or timezone.localdate()
    lines = []
    for line in claim.lines.order_by("line_number"):
        entry = data["lines"].get(line.line_number)
        if entry is None:
            continue
        lines.append(
            OtherPayerLine(
                line_number=line.line_number,
                paid=entry["paid"],
                hcpcs=line.hcpcs,
                modifiers=list(line.modifiers or []),
                units=line.units,
                adjudicated_on=entry["paid_date"] or adjudicated,
                adjustments=[
                    X837Adjustment(a["group"], a["code"], a["amount"]) for a in entry["adjustments"]
                ],
            )
        )
    return [
        OtherPayer(
            responsibility=RESPONSIBILITY.get(coverage.priority, "P"),
            filing_code=filing_code(data["payer"]),
            payer_name=data["payer"].name,
            payer_id=data["payer"].payer_id,
            subscriber_last_name=patient.last_name,
            subscriber_first_name=patient.first_name,
            member_id=coverage.member_id or "",
            paid_amount=data["paid"],
            adjudicated_on=adjudicated,
            adjustments=[
                X837Adjustment(a["group"], a["code"], a["amount"]) for a in data["adjustments"]
            ],
            lines=lines,
            group_number=coverage.group_number,
            remaining_patient_liability=data["patient_responsibility"],
        )
    ]


register_other_payer_provider(other_payers_for)
