"""Patient statements: what each patient owes, one PDF per patient, each run recorded.

A patient's open share is the patient-responsibility (PR) adjustments the payers
assigned on the patient's claims, except where that balance was billed on to a
secondary payer (``hme.services.secondary``): then the secondary claim's own PR is what
the patient owes. Contractual write-offs (CO) never appear as due. A statement lists
dates of service, HCPCS code and description, billed, insurance paid, adjustments and
due per line: no diagnosis, no clinical detail.

The queries are bounded by the number of patients in a run (a few per batch), never
by their lines. Generating is a PHI export: each run writes a compliance event, and
each download an access-log row (``core.access``).
"""

import datetime
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import F, OuterRef, Q, Subquery, Sum
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.models import Company
from clinical.models import Patient
from core.access import record_access
from core.choices import AccessAction, ComplianceKind
from core.compliance import record_event
from core.exceptions import ServiceError

from ..choices import AdjustmentGroup, ClaimStatus
from ..models import (
    Adjustment,
    ClaimLine,
    PatientPayment,
    PatientPaymentAllocation,
    PatientStatement,
    SecondaryClaim,
    StatementRun,
)
from ..models.claims import ZERO

if TYPE_CHECKING:
    from django.http import HttpRequest


@dataclass
class StatementLine:
    date_of_service: datetime.date | None
    claim_number: str
    hcpcs: str
    description: str
    billed: Decimal
    insurance_paid: Decimal
    adjustments: Decimal
    due: Decimal
    # What the patient already paid on it (``PatientPaymentAllocation``); ``due`` is
    # the patient's share less that.
    patient_paid: Decimal = ZERO
    claim_id: Any = None
    claim_line_id: Any = None


@dataclass
class PatientShare:
    patient_id: Any
    lines: list[StatementLine] = field(default_factory=list)
    # The patient's payments received since their last statement (the next statement
    # shows them).
    payments: list[PatientPayment] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return sum((line.due for line in self.lines), ZERO)


def open_patient_shares(
    company: Company, patient_ids: Iterable[Any] | None = None
) -> list[PatientShare]:
    """Every patient's open share lines (see the module doc), by patient."""
    billed_on = SecondaryClaim.objects.filter(company=company).values("primary_id")
    pr = (
        Adjustment.objects.filter(
            company=company,
            group=AdjustmentGroup.PR,
        )
        .exclude(allocation__claim__status=ClaimStatus.VOID)
        .exclude(allocation__claim_id__in=billed_on)
    )
    if patient_ids is not None:
        pr = pr.filter(allocation__claim__patient_id__in=list(patient_ids))
    due = {
        (row["allocation__claim_id"], row["allocation__claim_line_id"]): row["due"]
        for row in pr.values("allocation__claim_id", "allocation__claim_line_id").annotate(
            due=Sum("amount")
        )
    }
    if not due:
        return []
    claim_ids = {claim_id for claim_id, _ in due}
    paid_by_patient = {
        (row["claim_id"], row["claim_line_id"]): row["paid"]
        for row in PatientPaymentAllocation.objects.filter(claim_id__in=claim_ids)
        .values("claim_id", "claim_line_id")
        .annotate(paid=Sum("amount"))
    }
    others = Adjustment.objects.filter(allocation__claim_id__in=claim_ids).exclude(
        group=AdjustmentGroup.PR
    )
    adjusted = {
        (row["allocation__claim_id"], row["allocation__claim_line_id"]): row["total"]
        for row in others.values("allocation__claim_id", "allocation__claim_line_id").annotate(
            total=Sum("amount")
        )
    }
    # A secondary claim's lines show what the primary paid on them too.
    primaries = {
        link.claim_id: link.primary_id
        for link in SecondaryClaim.objects.filter(claim_id__in=claim_ids)
    }
    primary_paid: dict[tuple[Any, int], Decimal] = {
        (claim_id, number): paid
        for claim_id, number, paid in ClaimLine.objects.filter(
            claim_id__in=primaries.values()
        ).values_list("claim_id", "line_number", "paid_amount")
    }
    lines = {
        line.pk: line
        for line in ClaimLine.objects.filter(claim_id__in=claim_ids).select_related("claim")
    }
    claims = {line.claim_id: line.claim for line in lines.values()}
    shares: dict[Any, PatientShare] = {}
    for (claim_id, line_id), amount in sorted(due.items(), key=lambda item: str(item[0])):
        line = lines.get(line_id)
        claim = claims.get(claim_id) or _claim(claim_id)
        share = shares.setdefault(claim.patient_id, PatientShare(claim.patient_id))
        earlier = primary_paid.get((primaries.get(claim_id), line.line_number if line else 0), ZERO)
        patient_paid = paid_by_patient.get((claim_id, line_id), ZERO)
        if amount - patient_paid <= ZERO:
            continue  # paid in full by the patient: no longer open
        share.lines.append(
            StatementLine(
                date_of_service=line.date_of_service if line else None,
                claim_number=claim.number,
                hcpcs=line.hcpcs if line else "",
                description=(line.description if line else "") or "",
                billed=line.charge if line else ZERO,
                insurance_paid=(line.paid_amount if line else ZERO) + earlier,
                adjustments=adjusted.get((claim_id, line_id), ZERO),
                due=amount - patient_paid,
                patient_paid=patient_paid,
                claim_id=claim_id,
                claim_line_id=line_id,
            )
        )
    for share in shares.values():
        share.lines.sort(key=lambda x: (x.date_of_service or datetime.date.min, x.claim_number))
    open_shares = [share for share in shares.values() if share.total > ZERO]
    _attach_recent_payments(company, open_shares)
    return open_shares


def _attach_recent_payments(company: Company, shares: list[PatientShare]) -> None:
    """Each share's patient payments received since the patient's last statement (one
    query for all of them)."""
    if not shares:
        return
    by_patient = {share.patient_id: share for share in shares}
    last_statement = (
        PatientStatement.objects.filter(company=company, patient_id=OuterRef("patient_id"))
        .order_by("-created_at")
        .values("created_at")[:1]
    )
    recent = (
        PatientPayment.objects.filter(company=company, patient_id__in=list(by_patient))
        .annotate(since=Subquery(last_statement))
        .filter(Q(since__isnull=True) | Q(received_at__gt=F("since")))
        .order_by("received_at")
    )
    for payment in recent:
        by_patient[payment.patient_id].payments.append(payment)


def _claim(claim_id: Any) -> Any:
    from ..models import Claim

    return Claim.objects.get(pk=claim_id)


def render_statement(
    company: Company, patient: Patient, share: PatientShare, as_of: datetime.date
) -> bytes:
    from weasyprint import HTML

    html = render_to_string(
        "hme/patient_statement.html",
        {"company": company, "patient": patient, "share": share, "as_of": as_of},
    )
    pdf: bytes = HTML(string=html).write_pdf()
    return pdf


def run_statements(
    company: Company,
    *,
    as_of: datetime.date | None = None,
    patient_ids: Iterable[Any] | None = None,
    request: "HttpRequest | None" = None,
    progress: Callable[[int], None] | None = None,
) -> StatementRun:
    """Make one statement per patient with an open share (all of the company's, or
    ``patient_ids``), recorded as one run, in one transaction. The PHI export is a
    compliance event; from a request, also an access-log row per patient."""
    as_of = as_of or timezone.localdate()
    shares = open_patient_shares(company, patient_ids)
    patients = Patient.objects.in_bulk([s.patient_id for s in shares])
    with transaction.atomic():
        run = StatementRun.objects.create(company=company, as_of=as_of)
        made = []
        for share in shares:
            patient = patients[share.patient_id]
            made.append(
                PatientStatement.objects.create(
                    company=company,
                    run=run,
                    patient=patient,
                    lines_count=len(share.lines),
                    total_due=share.total,
                    pdf=render_statement(company, patient, share, as_of),
                )
            )
            if progress:
                progress(1)
        run.statements_count = len(made)
        run.lines_count = sum(s.lines_count for s in made)
        run.total_due = sum((s.total_due for s in made), ZERO)
        run.save(update_fields=["statements_count", "lines_count", "total_due"])
        record_event(
            ComplianceKind.PHI_EXPORT,
            company=company,
            request=request,
            target=run,
            detail={"report": "patient statements", "statements": run.statements_count},
        )
        if request is not None and made:
            record_access(
                request,
                [s.patient for s in made],
                via=_via(request),
                action=AccessAction.EXPORT,
                purpose="patient statement",
            )
    return run


def _via(request: "HttpRequest") -> str:
    from core.choices import AccessVia

    return AccessVia.API if request.path.startswith("/api/") else AccessVia.ADMIN


def download_statement(request: "HttpRequest", statement: PatientStatement) -> tuple[bytes, str]:
    """The statement's PDF and a file name (by id, never the patient's name); the
    download is logged as an export of the patient's record."""
    if not statement.pdf:
        raise ServiceError("This statement has no PDF.", code="not_found")
    record_access(
        request,
        [statement.patient],
        via=_via(request),
        action=AccessAction.EXPORT,
        purpose="patient statement",
    )
    return bytes(statement.pdf), f"statement-{statement.pk}.pdf"
