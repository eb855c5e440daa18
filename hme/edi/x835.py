"""835 Health Care Claim Payment/Advice (ASC X12 005010X221A1): parse into plain data.

Only the parts that post money are read: BPR (payment), TRN (trace number), the payer
(N1*PR with REF*2U, else TRN03), each claim payment (CLP loop 2100: claim-level CAS,
MOA remarks, DTM*232 service date), each service line (SVC loop 2110: DTM*472, CAS,
REF*6R line control number, AMT*B6 allowed, LQ*HE remarks) and provider-level
adjustments (PLB). Names and member ids (NM1*QC, NM1*IL) are never read: nothing
parsed here is PHI beyond claim numbers and amounts.

Refusals name the segment, its position in the file (1 = ISA) and the element, never a
value that could be PHI. Balancing (005010X221A1 section 1.10.2.1): each line's charge
less its adjustments is its payment; each claim's charge less all of its adjustments is
its payment (when lines are sent); BPR02 is the claims' payments less the PLB amounts.
The import refuses a file that does not balance, naming the difference.
"""

import datetime
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import IO

from .x12 import Segment, Transaction, X12Error, iter_transaction_segments

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
# CLP02 claim status codes (005010X221A1 2100 CLP02).
PROCESSED_PRIMARY = "1"
PROCESSED_SECONDARY = "2"
PROCESSED_TERTIARY = "3"
DENIED = "4"
REVERSAL = "22"
KNOWN_STATUSES = {"1", "2", "3", "4", "19", "20", "21", "22", "23", "25"}
ADJUSTMENT_GROUPS = {"CO", "PR", "OA", "PI", "CR"}
_RARC = re.compile(r"^[A-Z]{1,2}\d{1,3}$")


@dataclass
class CasAdjustment:
    group: str
    code: str
    amount: Decimal

    def as_dict(self) -> dict[str, str]:
        return {"group": self.group, "code": self.code, "amount": str(self.amount)}


@dataclass
class ServicePayment:
    """One SVC loop (2110)."""

    position: int
    hcpcs: str
    modifiers: list[str]
    charge: Decimal
    paid: Decimal
    units: int
    date_of_service: datetime.date | None = None
    control_number: str = ""
    allowed: Decimal | None = None
    adjustments: list[CasAdjustment] = field(default_factory=list)
    remarks: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "position": self.position,
            "hcpcs": self.hcpcs,
            "modifiers": self.modifiers,
            "charge": str(self.charge),
            "paid": str(self.paid),
            "units": self.units,
            "date_of_service": self.date_of_service.isoformat() if self.date_of_service else None,
            "control_number": self.control_number,
            "allowed": None if self.allowed is None else str(self.allowed),
            "adjustments": [a.as_dict() for a in self.adjustments],
            "remarks": self.remarks,
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> "ServicePayment":
        day = data.get("date_of_service")
        allowed = data.get("allowed")
        return cls(
            position=int(str(data["position"])),
            hcpcs=str(data["hcpcs"]),
            modifiers=[str(m) for m in data.get("modifiers") or []],  # type: ignore[attr-defined]
            charge=Decimal(str(data["charge"])),
            paid=Decimal(str(data["paid"])),
            units=int(str(data["units"])),
            date_of_service=datetime.date.fromisoformat(str(day)) if day else None,
            control_number=str(data.get("control_number") or ""),
            allowed=None if allowed is None else Decimal(str(allowed)),
            adjustments=[_cas_from_dict(a) for a in data.get("adjustments") or []],  # type: ignore[attr-defined]
            remarks=[str(r) for r in data.get("remarks") or []],  # type: ignore[attr-defined]
        )


def _cas_from_dict(data: dict[str, str]) -> CasAdjustment:
    return CasAdjustment(data["group"], data["code"], Decimal(data["amount"]))


@dataclass
class ClaimPayment:
    """One CLP loop (2100)."""

    position: int
    claim_number: str
    status: str
    charge: Decimal
    paid: Decimal
    patient_responsibility: Decimal
    payer_control_number: str
    date_of_service: datetime.date | None = None
    adjustments: list[CasAdjustment] = field(default_factory=list)
    remarks: list[str] = field(default_factory=list)
    lines: list[ServicePayment] = field(default_factory=list)

    @property
    def is_reversal(self) -> bool:
        return self.status == REVERSAL

    def details(self) -> dict[str, object]:
        return {
            "position": self.position,
            "date_of_service": self.date_of_service.isoformat() if self.date_of_service else None,
            "adjustments": [a.as_dict() for a in self.adjustments],
            "remarks": self.remarks,
            "lines": [line.as_dict() for line in self.lines],
        }


@dataclass
class ProviderLevelAdjustment:
    position: int
    fiscal_period: datetime.date
    reason: str
    reference: str
    amount: Decimal


@dataclass
class Remittance:
    """One 835 transaction set (ST..SE)."""

    position: int
    control_number: str
    handling: str
    amount: Decimal
    method: str
    paid_date: datetime.date
    trace_number: str
    payer_ids: list[str]
    # Kept by ``parse_835`` only; ``iter_835`` streams them and keeps the totals below.
    claims: list[ClaimPayment] = field(default_factory=list)
    provider_adjustments: list[ProviderLevelAdjustment] = field(default_factory=list)
    claims_count: int = 0
    claims_total: Decimal = ZERO  # the CLP04 of every claim payment
    reversals_count: int = 0
    reversals_total: Decimal = ZERO  # the CLP04 of the reversals (negative)

    def count(self, claim: "ClaimPayment") -> None:
        self.claims_count += 1
        self.claims_total += claim.paid
        if claim.is_reversal:
            self.reversals_count += 1
            self.reversals_total += claim.paid

    @property
    def provider_adjustment_total(self) -> Decimal:
        return sum((p.amount for p in self.provider_adjustments), ZERO)


def _fail(seg: Segment, element: str, why: str) -> X12Error:
    return seg.error(f"{element}: {why}")


def _amount(seg: Segment, index: int, *, required: bool = True) -> Decimal:
    name = f"{seg.id}{index:02d}"
    raw = seg[index]
    if not raw:
        if required:
            raise _fail(seg, name, "an amount is required.")
        return ZERO
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise _fail(seg, name, "not an amount (digits with an optional '.' and sign).") from None
    if not value.is_finite() or value != value.quantize(CENT):
        raise _fail(seg, name, "an amount has at most two decimals.")
    return value.quantize(CENT)


def _date(seg: Segment, index: int) -> datetime.date:
    name = f"{seg.id}{index:02d}"
    raw = seg[index]
    try:
        return datetime.datetime.strptime(raw, "%Y%m%d").date()  # noqa: DTZ007 (a date)
    except ValueError:
        raise _fail(seg, name, "a date is CCYYMMDD.") from None


def _required(seg: Segment, index: int) -> str:
    value = seg[index]
    if not value:
        raise _fail(seg, f"{seg.id}{index:02d}", "this element is required.")
    return value


def _cas(seg: Segment) -> list[CasAdjustment]:
    group = _required(seg, 1)
    if group not in ADJUSTMENT_GROUPS:
        raise _fail(seg, "CAS01", "the group is one of CO, PR, OA, PI, CR.")
    found = []
    # CAS02/03 and up to five more reason/amount pairs (05-06, 08-09, ... 17-18).
    for index in (2, 5, 8, 11, 14, 17):
        code = seg[index]
        if not code:
            continue
        found.append(CasAdjustment(group, code.lstrip("0") or code, _amount(seg, index + 1)))
    if not found:
        raise _fail(seg, "CAS02", "an adjustment needs a reason code and an amount.")
    return found


def _remark(seg: Segment, index: int) -> str:
    code = seg[index]
    if code and not _RARC.match(code):
        raise _fail(seg, f"{seg.id}{index:02d}", "not a remark code (RARC), as N130 or MA01.")
    return code


def parse_835(source: bytes | str) -> list[Remittance]:
    """Every 835 transaction of a file, envelopes checked (``hme.edi.x12``) and each
    balanced, with all of its claim payments in ``claims``; ``X12Error`` (segment,
    position, element) otherwise. Writes nothing. A large file is better streamed
    (:func:`iter_835`)."""
    return _collect(iter_835(source))


def parse_transaction(tx: Transaction) -> Remittance:
    """One ST*835..SE transaction set, checked and balanced, its claims in ``claims``."""
    return _collect(_events(iter(tx.segments)))[0]


def _collect(events: Iterator["Event"]) -> list[Remittance]:
    remittances = []
    for kind, item in events:
        if kind == START:
            assert isinstance(item, Remittance)
            remittances.append(item)
        elif kind == CLAIM:
            assert isinstance(item, ClaimPayment)
            remittances[-1].claims.append(item)
    return remittances


# What ``iter_835`` yields: (START, Remittance), (CLAIM, ClaimPayment)..., (END, Remittance).
START = "start"
CLAIM = "claim"
END = "end"
Event = tuple[str, "Remittance | ClaimPayment"]


def iter_835(source: IO[str] | IO[bytes] | bytes | str) -> Iterator[Event]:
    """Stream an 835 file in bounded memory: for each transaction set, ``(START,
    remittance)`` once its header (BPR, TRN, payer) is read, ``(CLAIM, claim_payment)``
    for each claim payment once it is complete and balanced, and ``(END, remittance)``
    after its SE, with its PLB adjustments and claim totals, BPR02 balanced. Nothing is
    kept per claim payment. ``X12Error`` where the file goes wrong (a caller that must
    change nothing reads the stream to its end before acting: ``validate_835``)."""
    return _events(seg for _isa, _gs, seg in iter_transaction_segments(source))


def validate_835(source: IO[str] | IO[bytes] | bytes | str) -> list[Remittance]:
    """Read a whole 835 once, checking everything ``iter_835`` checks; the transaction
    headers with their totals (no claim payments kept)."""
    return [item for kind, item in iter_835(source) if kind == END]  # type: ignore[misc]


def _events(segments: Iterator[Segment]) -> Iterator[Event]:
    """The events of the ST..SE transaction sets ``segments`` holds (envelopes checked)."""
    parser: _Parser | None = None
    st: Segment | None = None
    seen = False
    for seg in segments:
        if seg.id == "ST":
            if seg[1] != "835":
                raise seg.error("ST01: this file holds a transaction set other than 835")
            st, seen = seg, True
            continue
        if parser is None:
            assert st is not None
            if seg.id != "BPR":
                raise st.error("BPR: the first segment after ST must be BPR")
            parser = _Parser(st, seg)
            continue
        if seg.id == "SE":
            yield from parser.close()
            parser = None
            continue
        yield from parser.feed(seg)
    if not seen:
        raise X12Error("The file holds no 835 transaction (ST*835).")


def check_claim_balanced(claim: ClaimPayment) -> None:
    for line in claim.lines:
        adjusted = sum((a.amount for a in line.adjustments), ZERO)
        if line.charge - adjusted != line.paid:
            raise X12Error(
                f"SVC02-SVC03: the charge {line.charge} less "
                f"the adjustments {adjusted} is {line.charge - adjusted}, not the paid "
                f"{line.paid} (difference {line.paid - (line.charge - adjusted)})",
                segment="SVC",
                position=line.position,
            )
    if claim.lines:
        adjusted = sum((a.amount for a in claim.adjustments), ZERO) + sum(
            (a.amount for line in claim.lines for a in line.adjustments), ZERO
        )
        if claim.charge - adjusted != claim.paid:
            raise X12Error(
                f"CLP03-CLP04: the charge {claim.charge} less "
                f"the adjustments {adjusted} is not the paid {claim.paid} (difference "
                f"{claim.paid - (claim.charge - adjusted)})",
                segment="CLP",
                position=claim.position,
            )


def check_bpr_balanced(remittance: Remittance) -> None:
    expected = remittance.claims_total - remittance.provider_adjustment_total
    if expected != remittance.amount:
        raise X12Error(
            f"BPR02: the payment {remittance.amount} "
            f"is not the claim payments {remittance.claims_total} less the provider-level "
            f"adjustments {remittance.provider_adjustment_total} = {expected} (difference "
            f"{remittance.amount - expected})",
            segment="BPR",
            position=remittance.position,
        )


class _Parser:
    """One transaction set's segments after its BPR, fed one at a time."""

    def __init__(self, st: Segment, bpr: Segment) -> None:
        amount = _amount(bpr, 2)
        if amount < 0:
            raise _fail(bpr, "BPR02", "the payment amount cannot be negative.")
        if _required(bpr, 3) not in ("C", "D"):
            raise _fail(bpr, "BPR03", "the credit/debit flag is C or D.")
        self.st = st
        self.remittance = Remittance(
            position=bpr.position,
            control_number=st[2],
            handling=_required(bpr, 1),
            amount=amount,
            method=_required(bpr, 4),
            paid_date=_date(bpr, 16),
            trace_number="",
            payer_ids=[],
        )
        self.claim: ClaimPayment | None = None
        self.line: ServicePayment | None = None
        self.in_payer = False
        self.started = False

    def _start(self) -> Iterator[Event]:
        if not self.started:
            if not self.remittance.trace_number:
                raise self.st.error("TRN02: the transaction has no trace number (TRN)")
            self.started = True
            yield START, self.remittance

    def _done(self) -> Iterator[Event]:
        """The claim payment being read is complete: balance it and hand it out."""
        claim, self.claim, self.line = self.claim, None, None
        if claim is not None:
            check_claim_balanced(claim)
            self.remittance.count(claim)
            yield CLAIM, claim

    def close(self) -> Iterator[Event]:
        yield from self._start()
        yield from self._done()
        check_bpr_balanced(self.remittance)
        yield END, self.remittance

    def feed(self, seg: Segment) -> Iterator[Event]:  # noqa: C901 (one branch per segment id)
        sid = seg.id
        current = self.remittance
        claim, line = self.claim, self.line
        if sid == "TRN":
            current.trace_number = _required(seg, 2)
            if seg[3]:
                current.payer_ids.append(seg[3])
        elif sid == "N1":
            self.in_payer = seg[1] == "PR"
            if self.in_payer and seg[4]:
                current.payer_ids.insert(0, seg[4])
        elif sid == "REF" and self.in_payer and claim is None and seg[1] == "2U":
            current.payer_ids.insert(0, _required(seg, 2))
        elif sid == "CLP":
            self.in_payer = False
            yield from self._start()
            yield from self._done()
            self.claim = _clp(seg)
        elif sid == "SVC":
            if claim is None:
                raise _fail(seg, "SVC", "a service line before any claim (CLP).")
            self.line = _svc(seg)
            claim.lines.append(self.line)
        elif sid == "CAS":
            if claim is None:
                raise _fail(seg, "CAS", "an adjustment before any claim (CLP).")
            (line.adjustments if line is not None else claim.adjustments).extend(_cas(seg))
        elif sid == "DTM" and claim is not None:
            if seg[1] == "472" and line is not None:
                line.date_of_service = _date(seg, 2)
            elif seg[1] == "232" and line is None:
                claim.date_of_service = _date(seg, 2)
        elif sid == "REF" and line is not None and seg[1] == "6R":
            line.control_number = _required(seg, 2)
        elif sid == "AMT" and line is not None and seg[1] == "B6":
            line.allowed = _amount(seg, 2)
        elif sid == "LQ" and line is not None and seg[1] == "HE":
            line.remarks.append(_remark(seg, 2))
        elif sid in ("MOA", "MIA") and claim is not None and line is None:
            indexes = (3, 4, 5, 6, 7) if sid == "MOA" else (5, 20, 21, 22, 23)
            claim.remarks.extend(r for r in (_remark(seg, i) for i in indexes) if r)
        elif sid == "PLB":
            yield from self._start()
            yield from self._done()
            current.provider_adjustments.extend(_plb(seg))


def _clp(seg: Segment) -> ClaimPayment:
    status = _required(seg, 2)
    if status not in KNOWN_STATUSES:
        raise _fail(seg, "CLP02", "not a claim status code of 005010X221A1.")
    return ClaimPayment(
        position=seg.position,
        claim_number=_required(seg, 1),
        status=status,
        charge=_amount(seg, 3),
        paid=_amount(seg, 4),
        patient_responsibility=_amount(seg, 5, required=False),
        payer_control_number=seg[7],
    )


def _svc(seg: Segment) -> ServicePayment:
    composite = seg.components(1)
    if len(composite) < 2 or composite[0] not in ("HC", "HP") or not composite[1]:
        raise _fail(seg, "SVC01", "the procedure is HC:code[:modifiers].")
    try:
        units = int(Decimal(seg[5] or "1"))
    except InvalidOperation:
        raise _fail(seg, "SVC05", "units are a number.") from None
    return ServicePayment(
        position=seg.position,
        hcpcs=composite[1],
        modifiers=[m for m in composite[2:6] if m],
        charge=_amount(seg, 2),
        paid=_amount(seg, 3),
        units=units,
    )


def _plb(seg: Segment) -> list[ProviderLevelAdjustment]:
    found = []
    for index in (3, 5, 7, 9, 11, 13):
        if not seg[index]:
            continue
        reason, *reference = seg.components(index)
        found.append(
            ProviderLevelAdjustment(
                position=seg.position,
                fiscal_period=_date(seg, 2),
                reason=reason,
                reference=reference[0] if reference else "",
                amount=_amount(seg, index + 1),
            )
        )
    if not found:
        raise _fail(seg, "PLB03", "a provider-level adjustment needs a reason and an amount.")
    return found
