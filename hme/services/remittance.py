"""Posting 835 remittances (005010X221A1): match, adjudicate, post, reverse, reconcile.

One file is one transaction (all or nothing). For each transaction set: the payer is
found by its payer id (REF*2U, N1*PR N104 or TRN03), the same payer + TRN02 trace number
is imported once (the database holds it: ``remittance_payer_trace_uniq``), a
``Payment`` is recorded (``record_payment``) and each claim payment (CLP) is applied in
its own savepoint:

- matched by CLP01 (our claim number) among the payer's claims, lines by REF*6R (the
  line control number of our 837P), else HCPCS + modifiers + date of service, also when
  the payer dropped one modifier;
- a processing claim is adjudicated from it: denied (CLP02 4, or nothing allowed) with
  the first non-PR CAS group and reason, or approved with each line's allowed amount
  (paid + PR adjustments); then the line payments are posted through ``post_payment``
  with their CAS adjustments and RARC remarks (approved -> paid follows);
- a reversal (CLP02 22) removes what the reversed claim payment posted and returns the
  claim to processing, so that the corrected claim payment that follows adjudicates it
  again (005010X221A1 section 1.10.2.8, "Reversals and Corrections");
- what cannot be matched or applied stays on the payment, unallocated, as an
  *unmatched* ``RemittanceClaim`` (with the reason) for a clerk to assign.

After the file is applied the money must reconcile to the cent with BPR02: posted +
unmatched - reversed - PLB = BPR02, or the import is refused naming the difference.

The payment's amount is what the payer paid on claims in the file (plus any net PLB
increase, such as interest): BPR02 is that less the reversals it recouped and the PLB
reductions, which the import records beside it.
"""

import datetime
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import IO, Any

from django.db import IntegrityError, transaction
from django.db.models import Prefetch, Sum
from django.utils import timezone

from accounts.models import Company, User
from core.exceptions import Conflict, ServiceError
from core.locks import lock_row

from ..choices import AdjustmentGroup, ClaimStatus, CoveragePriority, PaymentMethod
from ..edi.data import line_control_number
from ..edi.inbox import InboxContext, register_handler
from ..edi.x12 import Transaction
from ..edi.x835 import (
    CLAIM,
    DENIED,
    END,
    START,
    CasAdjustment,
    ClaimPayment,
    Remittance,
    ServicePayment,
    iter_835,
    parse_transaction,
    validate_835,
)
from ..models import (
    Claim,
    ClaimLine,
    Payer,
    Payment,
    PaymentAllocation,
    ProviderAdjustment,
    RemittanceClaim,
    RemittanceImport,
)
from ..models.claims import ZERO
from ..models.remittance import RemittanceClaimKind, RemittanceSource
from .claims import approve_claim, deny_claim, mark_processing, reverse_adjudication
from .payments import post_payment, record_payment
from .secondary import create_secondary_claim

# BPR04 payment method -> ours (NON: no money moved, all denials or offsets).
METHODS = {"CHK": PaymentMethod.CHECK, "ACH": PaymentMethod.EFT, "FWT": PaymentMethod.EFT}


# Claim payments applied per batch: one query finds the batch's claims and their lines.
CHUNK = 200


@dataclass
class ImportSummary:
    remittances: list[RemittanceImport]

    def line(self) -> str:
        claims = sum(r.claims_count for r in self.remittances)
        unmatched = sum(
            r.claim_payments.filter(kind=RemittanceClaimKind.UNMATCHED).count()
            for r in self.remittances
        )
        posted = sum((r.posted_amount for r in self.remittances), ZERO)
        return (
            f"{len(self.remittances)} remittance(s), {claims} claim payment(s), "
            f"${posted:,.2f} posted, {unmatched} unmatched."
        )


@dataclass
class _Totals:
    """What one remittance's claim payments did, summed as they are applied."""

    posted: Decimal = ZERO
    reversed: Decimal = ZERO
    unmatched: Decimal = ZERO

    def add(self, kind: str, money: Decimal) -> None:
        if kind == RemittanceClaimKind.REVERSAL:
            self.reversed += money
        elif kind == RemittanceClaimKind.UNMATCHED:
            self.unmatched += money
        else:
            self.posted += money


Source = bytes | str | IO[bytes] | IO[str]


def _reader(data: Source) -> Callable[[], Source]:
    """A way to read ``data`` from its start again (each pass streams it)."""
    if isinstance(data, bytes | str):
        return lambda: data
    stream = data

    def again() -> Source:
        stream.seek(0)
        return stream

    return again


def import_835(
    company: Company,
    data: Source,
    *,
    file_name: str = "",
    source: str = RemittanceSource.UPLOAD,
    progress: Callable[[int], None] | None = None,
) -> ImportSummary:
    """Import every 835 transaction of ``data`` (bytes, text or a file opened for
    reading) for ``company``, all or nothing, in bounded memory.

    The file is streamed (``hme.edi.x835.iter_835``), never held as objects: a first
    pass reads all of it and checks it (X12, each claim payment balanced, BPR02 equal
    to the claim payments less PLB), writing nothing; then the posting pass applies the
    claim payments ``CHUNK`` at a time (reversals first, in a pass of their own when
    the file has any), each in its own savepoint, inside one transaction that the
    final reconciliation can still refuse as a whole.

    Invalid X12 raises ``X12Error`` (segment and position named) before anything is
    written; a file already imported (payer + trace number) is a ``Conflict``
    (``already_imported``); a file that does not reconcile with BPR02 is refused
    (``remittance_unbalanced``) with the difference. ``progress(n)`` is told of each
    chunk of ``n`` claim payments applied."""
    from ..readiness.signals import holds_refreshed_after

    again = _reader(data)
    headers = validate_835(again())
    with transaction.atomic():
        records: list[RemittanceImport] = []
        with holds_refreshed_after(lambda: _order_lines_of(records)):
            records = [
                _open(company, header, file_name=file_name, source=source) for header in headers
            ]
            totals = [_Totals() for _ in headers]
            passes = (True, False) if any(h.reversals_count for h in headers) else (False,)
            for reversals in passes:
                _post_stream(again(), records, totals, reversals=reversals, progress=progress)
            done = [
                _close(record, header, total)
                for record, header, total in zip(records, headers, totals, strict=True)
            ]
    return ImportSummary(done)


def _post_stream(
    stream: Source,
    records: Sequence[RemittanceImport],
    totals: Sequence[_Totals],
    *,
    reversals: bool,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Apply the file's reversals (or its other claim payments), a chunk at a time."""
    index = -1
    chunk: list[ClaimPayment] = []
    for kind, item in iter_835(stream):
        if kind == START:
            index += 1
        elif kind == CLAIM:
            assert isinstance(item, ClaimPayment)
            if item.is_reversal == reversals:
                chunk.append(item)
            if len(chunk) >= CHUNK:
                _apply_chunk(records[index], totals[index], chunk, progress)
        elif kind == END:
            _apply_chunk(records[index], totals[index], chunk, progress)


def _apply_chunk(
    record: RemittanceImport,
    totals: _Totals,
    chunk: list[ClaimPayment],
    progress: Callable[[int], None] | None = None,
) -> None:
    """Apply (and forget) a chunk of claim payments: their claims in one query."""
    if not chunk:
        return
    size = len(chunk)
    claims = _claims_by_number(record.company, record.payer, {c.claim_number for c in chunk})
    for claim_payment in chunk:
        totals.add(
            *apply_claim_payment(record, claim_payment, claims.get(claim_payment.claim_number))
        )
    chunk.clear()
    if progress is not None:
        progress(size)


def _order_lines_of(records: Sequence[RemittanceImport]) -> Any:
    """The order lines billed on the claims an import touched (their billing holds are
    refreshed once, after the import commits)."""
    return ClaimLine.objects.filter(
        claim__remittance_claims__remittance__in=[r.pk for r in records],
        order_line__isnull=False,
    ).values_list("order_line_id", flat=True)


def handle_835(tx: Transaction, context: InboxContext) -> dict[str, int]:
    """The clearinghouse inbox's handler for ST*835 (inside the file's transaction)."""
    remittance = parse_transaction(tx)
    try:
        with transaction.atomic():
            done = import_remittance(
                context.company,
                remittance,
                file_name=context.file_name,
                source=RemittanceSource.INBOX,
            )
    except Conflict as error:
        if error.code != "already_imported":
            raise
        # A file fetched again after a crash: posted once already.
        return {"835 already imported": 1}
    unmatched = done.claim_payments.filter(kind=RemittanceClaimKind.UNMATCHED).count()
    return {"835 claim payments": done.claims_count, "835 unmatched": unmatched}


register_handler("835", handle_835)


def find_payer(company: Company, payer_ids: Sequence[str]) -> Payer:
    for payer_id in payer_ids:
        payer: Payer | None = Payer.objects.filter(company=company, payer_id=payer_id).first()
        if payer is not None:
            return payer
    raise ServiceError(
        "No payer of yours has the payer id this 835 gives (REF*2U, N1*PR N104 or TRN03: "
        f"{', '.join(payer_ids) or 'none'}): set the payer's id first.",
        code="unknown_payer",
    )


def import_remittance(
    company: Company,
    remittance: Remittance,
    *,
    file_name: str = "",
    source: str = RemittanceSource.UPLOAD,
) -> RemittanceImport:
    """Apply one parsed 835 transaction held in memory (``remittance.claims``; the
    inbox's), as ``import_835`` does. Call inside a transaction."""
    from ..readiness.signals import holds_refreshed_after

    record: RemittanceImport | None = None
    with holds_refreshed_after(lambda: _order_lines_of([record] if record else [])):
        record = _open(company, remittance, file_name=file_name, source=source)
        totals = _Totals()
        # Reversals first: a corrected claim payment in the same file adjudicates anew.
        for reversals in (True, False):
            todo = [c for c in remittance.claims if c.is_reversal == reversals]
            for start in range(0, len(todo), CHUNK):
                _apply_chunk(record, totals, todo[start : start + CHUNK])
        return _close(record, remittance, totals)


def _open(
    company: Company, remittance: Remittance, *, file_name: str, source: str
) -> RemittanceImport:
    """The import's payer, its payment and its record, before any claim is applied;
    refused when the payer is unknown or the remittance already imported."""
    payer = find_payer(company, remittance.payer_ids)
    trace = remittance.trace_number
    earlier = RemittanceImport.objects.filter(
        company=company, payer=payer, trace_number=trace
    ).first()
    if earlier is not None:
        raise Conflict(
            f"{payer}'s remittance {trace} was already imported on "
            f"{timezone.localtime(earlier.created_at):%Y-%m-%d}: nothing was posted again.",
            code="already_imported",
        )
    plb = remittance.provider_adjustment_total
    # What the payer paid on claims (the reversals it recouped are taken back out of
    # BPR02) plus a net PLB increase such as interest.
    amount = remittance.amount - remittance.reversals_total + max(plb, ZERO)
    payment = record_payment(
        company=company,
        payer=payer,
        number=trace,
        paid_date=remittance.paid_date,
        amount=amount,
        method=METHODS.get(remittance.method, PaymentMethod.EFT),
        note=f"835 {file_name}".strip()[:200],
    )
    try:
        with transaction.atomic():
            record = RemittanceImport.objects.create(
                company=company,
                payer=payer,
                payment=payment,
                trace_number=trace,
                source=source,
                file_name=file_name[:200],
                bpr_amount=remittance.amount,
                paid_date=remittance.paid_date,
                claims_count=remittance.claims_count,
                provider_adjustment_amount=plb,
            )
    except IntegrityError:
        raise Conflict(
            f"{payer}'s remittance {trace} is being imported by someone else.",
            code="already_imported",
        ) from None
    ProviderAdjustment.objects.bulk_create(
        ProviderAdjustment(
            company=company,
            remittance=record,
            fiscal_period=item.fiscal_period,
            reason=item.reason,
            reference=item.reference,
            amount=item.amount,
        )
        for item in remittance.provider_adjustments
    )
    return record


def _close(record: RemittanceImport, remittance: Remittance, totals: _Totals) -> RemittanceImport:
    """Reconcile what was applied with BPR02 to the cent (or refuse the file) and keep
    the totals on the record."""
    plb = remittance.provider_adjustment_total
    trace = remittance.trace_number
    posted = record.payment.allocations.aggregate(total=Sum("amount"))["total"] or ZERO
    reconciled = posted + totals.unmatched - totals.reversed - plb
    if posted != totals.posted or reconciled != remittance.amount:
        raise ServiceError(
            f"Remittance {trace} does not reconcile with BPR02 ${remittance.amount}: posted "
            f"${posted} + unmatched ${totals.unmatched} - reversed ${totals.reversed} "
            f"- provider-level adjustments ${plb} = ${reconciled} (difference "
            f"${reconciled - remittance.amount}). Nothing was posted.",
            code="remittance_unbalanced",
        )
    record.posted_amount = totals.posted
    record.reversed_amount = totals.reversed
    record.unmatched_amount = totals.unmatched
    record.save(update_fields=["posted_amount", "reversed_amount", "unmatched_amount"])
    record.payment.refresh_from_db()
    return record


def _claims_by_number(company: Company, payer: Payer, numbers: Iterable[str]) -> dict[str, Claim]:
    """The payer's claims with these numbers (one batch: at most ``CHUNK``), their lines
    fetched with them."""
    queryset = (
        Claim.objects.filter(company=company, payer=payer, number__in=sorted(set(numbers)))
        .select_related("coverage")
        .prefetch_related(Prefetch("lines", queryset=ClaimLine.objects.order_by("line_number")))
    )
    return {claim.number: claim for claim in queryset}


def apply_claim_payment(
    record: RemittanceImport, claim_payment: ClaimPayment, claim: Claim | None
) -> tuple[str, Decimal]:
    """Apply one CLP in a savepoint; what it could not do becomes an unmatched row.
    Returns (kind, money): posted amount, reversed amount or the unmatched CLP04."""
    if claim is not None:
        try:
            with transaction.atomic():
                return _apply(record, claim_payment, claim, fallback=False)
        except ServiceError as error:
            reason = error.message
    else:
        reason = "No claim of this payer has this claim number (CLP01)."
    _remittance_claim(record, claim_payment, None, RemittanceClaimKind.UNMATCHED, reason=reason)
    return RemittanceClaimKind.UNMATCHED, claim_payment.paid


def _apply(
    record: RemittanceImport,
    claim_payment: ClaimPayment,
    claim: Claim,
    *,
    fallback: bool,
    row: RemittanceClaim | None = None,
) -> tuple[str, Decimal]:
    if claim_payment.is_reversal:
        amount = _reverse(record, claim_payment, claim, row)
        return RemittanceClaimKind.REVERSAL, amount
    return _post(record, claim_payment, claim, fallback=fallback, row=row)


def _remittance_claim(
    record: RemittanceImport,
    claim_payment: ClaimPayment,
    claim: Claim | None,
    kind: str,
    *,
    reason: str = "",
    row: RemittanceClaim | None = None,
) -> RemittanceClaim:
    details = claim_payment.details()
    if reason:
        details["reason"] = reason
    if row is None:
        row = RemittanceClaim(
            company_id=record.company_id,
            remittance=record,
            payer_claim_number=claim_payment.claim_number,
            payer_control_number=claim_payment.payer_control_number[:50],
            status_code=claim_payment.status,
            charge=claim_payment.charge,
            paid=claim_payment.paid,
            patient_responsibility=claim_payment.patient_responsibility,
        )
    row.claim = claim
    row.kind = kind
    row.details = details
    row.save()
    return row


# Matching lines -----------------------------------------------------------------------


def match_lines(
    claim: Claim, services: Sequence[ServicePayment], default_day: datetime.date | None
) -> list[ClaimLine | None]:
    """The claim line each service line pays: REF*6R first, else HCPCS + modifiers +
    date of service, tolerating one modifier the payer dropped. None where nothing
    matches."""
    lines = sorted(claim.lines.all(), key=lambda line: line.line_number)
    by_control = {line_control_number(claim, line): line for line in lines}
    used: set[Any] = set()
    matched: list[ClaimLine | None] = []
    for svc in services:
        line = by_control.get(svc.control_number) if svc.control_number else None
        if line is None or line.pk in used:
            line = _match_by_code(lines, used, svc, svc.date_of_service or default_day)
        if line is not None:
            used.add(line.pk)
        matched.append(line)
    return matched


def _match_by_code(
    lines: Sequence[ClaimLine],
    used: set[Any],
    svc: ServicePayment,
    day: datetime.date | None,
) -> ClaimLine | None:
    wanted = set(svc.modifiers)
    candidates = [
        line
        for line in lines
        if line.pk not in used
        and line.hcpcs == svc.hcpcs
        and (day is None or line.date_of_service == day)
    ]
    exact = [line for line in candidates if set(line.modifiers or []) == wanted]
    if exact:
        return exact[0]
    # The payer dropped one modifier (keeping the others).
    dropped = [
        line
        for line in candidates
        if wanted < set(line.modifiers or []) and len(set(line.modifiers or []) - wanted) == 1
    ]
    return dropped[0] if len(dropped) == 1 else None


# Posting ------------------------------------------------------------------------------


def _first_denial(claim_payment: ClaimPayment) -> CasAdjustment | None:
    adjustments = [
        *claim_payment.adjustments,
        *(a for line in claim_payment.lines for a in line.adjustments),
    ]
    for adjustment in adjustments:
        if adjustment.group != AdjustmentGroup.PR and adjustment.amount > 0:
            return adjustment
    return None


def _adjustments(items: Iterable[CasAdjustment]) -> list[dict[str, str]]:
    return [a.as_dict() for a in items if a.amount != 0]


def _post(
    record: RemittanceImport,
    claim_payment: ClaimPayment,
    claim: Claim,
    *,
    fallback: bool,
    row: RemittanceClaim | None,
) -> tuple[str, Decimal]:
    services = claim_payment.lines
    matched = match_lines(claim, services, claim_payment.date_of_service)
    for svc, line in zip(services, matched, strict=True):
        if line is None and not fallback:
            raise ServiceError(
                f"The service line at position {svc.position} ({svc.hcpcs}) matches no line "
                f"of claim {claim.number}."
            )
    claim = lock_row(claim)
    if claim.status == ClaimStatus.PENDING and claim.submitted_at is not None:
        claim = mark_processing(claim)
    if claim.status == ClaimStatus.PROCESSING:
        allowed: dict[str, Decimal] = {str(line.pk): ZERO for line in claim.lines.all()}
        for svc, line in zip(services, matched, strict=True):
            if line is not None:
                patient = sum((a.amount for a in svc.adjustments if a.group == "PR"), ZERO)
                allowed[str(line.pk)] += svc.paid + patient
        denial = _first_denial(claim_payment)
        if claim_payment.status == DENIED or sum(allowed.values(), ZERO) <= ZERO:
            if denial is None:
                raise ServiceError(
                    f"Claim {claim.number} is denied without an adjustment reason (CAS)."
                )
            remarks = [*claim_payment.remarks, *(r for s in services for r in s.remarks)]
            deny_claim(
                claim,
                denial.group,
                denial.code,
                f"{denial.group}-{denial.code}" + (f" ({', '.join(remarks)})" if remarks else ""),
            )
            _remittance_claim(record, claim_payment, claim, RemittanceClaimKind.DENIED, row=row)
            return RemittanceClaimKind.DENIED, ZERO
        claim = approve_claim(claim, line_allowed=allowed)
    allocations: list[dict[str, Any]] = []
    for svc, line in zip(services, matched, strict=True):
        allocation = {
            "claim": claim,
            "claim_line": line,
            "amount": svc.paid,
            "adjustments": _adjustments(svc.adjustments),
            "remarks": svc.remarks,
        }
        if svc.paid or allocation["adjustments"]:
            allocations.append(allocation)
    rest = claim_payment.paid - sum((s.paid for s in services), ZERO)
    claim_adjustments = _adjustments(claim_payment.adjustments)
    if rest or claim_adjustments or claim_payment.remarks or not allocations:
        allocations.append(
            {
                "claim": claim,
                "claim_line": None,
                "amount": rest,
                "adjustments": claim_adjustments,
                "remarks": claim_payment.remarks,
            }
        )
    posted: list[PaymentAllocation] = []
    post_payment(record.payment, allocations, created=posted)
    kind = RemittanceClaimKind.ASSIGNED if row is not None else RemittanceClaimKind.POSTED
    remittance_claim = _remittance_claim(record, claim_payment, claim, kind, row=row)
    remittance_claim.allocations.set(posted)
    claim.refresh_from_db()
    _bill_secondary(claim, remittance_claim)
    return kind, claim_payment.paid


def _bill_secondary(claim: Claim, row: RemittanceClaim) -> None:
    """A primary's patient balance goes to the secondary coverage, if any. A claim that
    cannot be made (say, a missing authorization) leaves the posting as it is and says
    why on the remittance row."""
    if claim.coverage.priority != CoveragePriority.PRIMARY or claim.patient_responsibility <= 0:
        return
    try:
        with transaction.atomic():
            create_secondary_claim(claim)
    except ServiceError as error:
        row.details = {**row.details, "secondary": f"Not billed: {error.message}"}
        row.save(update_fields=["details"])


def _reverse(
    record: RemittanceImport,
    claim_payment: ClaimPayment,
    claim: Claim,
    row: RemittanceClaim | None,
) -> Decimal:
    """Undo the claim payment this reversal (CLP02 22) reverses: its allocations are
    removed (the money goes back to its payment, recouped by the payer in this one),
    the lines' allowed amounts cleared and the claim returned to processing."""
    earlier = RemittanceClaim.objects.filter(
        company_id=record.company_id,
        claim=claim,
        kind__in=[RemittanceClaimKind.POSTED, RemittanceClaimKind.ASSIGNED],
        reversed_at__isnull=True,
    ).exclude(remittance=record)
    if claim_payment.payer_control_number:
        same = earlier.filter(payer_control_number=claim_payment.payer_control_number)
        earlier = same if same.exists() else earlier
    original: RemittanceClaim | None = earlier.order_by("-created_at").first()
    if original is None:
        raise ServiceError(f"Nothing posted from an 835 to claim {claim.number} to reverse.")
    allocations = list(original.allocations.select_related("claim_line"))
    taken = sum((a.amount for a in allocations), ZERO)
    if taken != -claim_payment.paid:
        raise ServiceError(
            f"The reversal of claim {claim.number} takes back ${-claim_payment.paid}, but "
            f"${taken} was posted by the payment it reverses."
        )
    claim = lock_row(claim)
    payments = {a.payment_id for a in allocations}
    for payment in Payment.objects.select_for_update().filter(pk__in=payments).order_by("pk"):
        mine = sum((a.amount for a in allocations if a.payment_id == payment.pk), ZERO)
        payment.allocated_amount -= mine
        payment.save(update_fields=["allocated_amount"])
    PaymentAllocation.objects.filter(pk__in=[a.pk for a in allocations]).delete()
    for line in claim.lines.all():
        line.paid_amount = line.allocations.aggregate(total=Sum("amount"))["total"] or ZERO
        line.allowed_amount = ZERO
        line.save(update_fields=["paid_amount", "allowed_amount"])
    # The payer takes its adjudication back (approved/paid -> processing, through the
    # transition table): the claim waits for the correction.
    claim = reverse_adjudication(claim)
    original.reversed_at = timezone.now()
    original.save(update_fields=["reversed_at"])
    reversal = _remittance_claim(
        record, claim_payment, claim, RemittanceClaimKind.REVERSAL, row=row
    )
    reversal.reverses = original
    reversal.save(update_fields=["reverses"])
    return taken


# The unmatched worklist ---------------------------------------------------------------


def assign_unmatched(
    row: RemittanceClaim, claim: Claim, user: User | None = None
) -> RemittanceClaim:
    """A clerk assigns an unmatched claim payment to ``claim`` (of the same company and
    payer): it is applied as the import would have (lines matched where they can be,
    the rest posted to the claim as a whole) from the money left on its payment."""
    with transaction.atomic():
        row = lock_row(row, "remittance")
        if row.kind != RemittanceClaimKind.UNMATCHED:
            raise Conflict(
                f"This claim payment is {row.get_kind_display().lower()}, not unmatched.",
                code="not_unmatched",
            )
        record = lock_row(row.remittance, "payment")
        if claim.company_id != row.company_id:
            raise ServiceError(
                "Choose one of your company's claims.", fields={"claim": ["Unknown."]}
            )
        if claim.payer_id != record.payer_id:
            raise ServiceError(
                f"Claim {claim.number} is billed to {claim.payer}, not to {record.payer}.",
                fields={"claim": ["Billed to another payer."]},
            )
        claim_payment = _claim_payment_from_row(row)
        kind, money = _apply(record, claim_payment, claim, fallback=True, row=row)
        row.refresh_from_db()
        if kind == RemittanceClaimKind.REVERSAL:
            record.reversed_amount += money
        else:
            record.posted_amount += money
        record.unmatched_amount -= claim_payment.paid
        record.save(update_fields=["posted_amount", "reversed_amount", "unmatched_amount"])
        row.assigned_at = timezone.now()
        row.assigned_by = user if getattr(user, "is_authenticated", False) else None
        row.save(update_fields=["kind", "assigned_at", "assigned_by"])
    return row


def _claim_payment_from_row(row: RemittanceClaim) -> ClaimPayment:
    details = row.details or {}
    day = details.get("date_of_service")
    return ClaimPayment(
        position=int(details.get("position") or 0),
        claim_number=row.payer_claim_number,
        status=row.status_code,
        charge=row.charge,
        paid=row.paid,
        patient_responsibility=row.patient_responsibility,
        payer_control_number=row.payer_control_number,
        date_of_service=datetime.date.fromisoformat(day) if day else None,
        adjustments=[
            CasAdjustment(a["group"], a["code"], Decimal(a["amount"]))
            for a in details.get("adjustments") or []
        ],
        remarks=list(details.get("remarks") or []),
        lines=[ServicePayment.from_dict(line) for line in details.get("lines") or []],
    )
