"""The 837P professional claim (ASC X12 005010X222A1), written as a stream of segments.

Input is plain data (:class:`Envelope`, :class:`ClaimData`...), filled from the ORM by
``hme.edi.data``; :func:`generate_837p` yields the file's text claim by claim, so memory
stays flat whatever the number of claims (bench/bench_edi.py). Claims must arrive grouped
by billing provider (one 2000A loop per run of equal ``billing_provider.key``).

Segments and their sources (005010X222A1 page numbers are of the TR3 itself):

- ISA/GS/ST/BHT: envelope, GS08 and ST03 ``005010X222A1``; BHT06 ``CH`` chargeable.
- 1000A submitter NM1*41 + PER*IC; 1000B receiver NM1*40 (both NM108 ``46`` ETIN).
- 2000A HL*20; 2010AA billing provider NM1*85 (NM108 ``XX`` NPI), N3, N4 (ZIP+4
  required: 2010AA N403), REF*EI tax id.
- 2000B HL*22 + SBR (SBR01 P/S/T, SBR02 ``18`` self, SBR09 claim filing indicator, MB
  Medicare Part B); 2010BA subscriber NM1*IL (NM108 ``MI``), N3, N4, DMG; 2010BB payer
  NM1*PR (NM108 ``PI``).
- 2300 CLM (CLM01 patient control number = our claim number, CLM05 place of service
  :facility code qualifier ``B``: frequency 1/7/8), PWK (attachments), REF*G1 prior
  authorization, REF*F8 payer claim control number (required with frequency 7 and 8),
  HI (ABK principal, ABF other ICD-10-CM codes, no dots); 2310A referring NM1*DN.
- 2320/2330A/2330B other payer (secondary claims): SBR, CAS, AMT*D paid, OI, NM1*IL,
  NM1*PR, DTP*573 adjudication date; 2430 SVD/CAS/DTP*573 line adjudication.
- 2400 LX, SV1 (``HC:code:modifiers``, charge, ``UN`` units, pointers), CR3 DME
  certification (CR301 ``I``/``R``/``S``, CR302 ``MO``, CR303 length of need in
  months; rental lines), DTP*472 (D8 date or RD8 span), REF*G1 line prior authorization
  when it differs from the claim's, REF*6R line item control number;
  2420E ordering provider NM1*DK (NPI).
- SE/GE/IEA trailers with the counts.

The TR3 allows at most 5000 CLM in one transaction set (section 1.4.1): a batch holds at
most :data:`MAX_CLAIMS` claims.
"""

from __future__ import annotations

import datetime
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from .x12 import (
    DEFAULT_DELIMITERS,
    Component,
    InterchangeHeader,
    SegmentWriter,
    X12Error,
    clean,
    clean_id,
    isa_segment,
)

IMPLEMENTATION = "005010X222A1"
#: 005010X222A1 section 1.4.1: no more than 5000 CLM segments per transaction set.
MAX_CLAIMS = 5000
#: HI: one principal (ABK) and up to eleven other (ABF) diagnoses.
MAX_DIAGNOSES = 12


class BuildError(X12Error):
    """A claim lacks something the 837P must carry; names the claim, never PHI."""

    code = "edi_build"


@dataclass(frozen=True)
class Address:
    line1: str
    line2: str
    city: str
    state: str
    postal_code: str


@dataclass(frozen=True)
class Envelope:
    """Who sends to whom, and the control numbers of this file."""

    sender_qualifier: str
    sender_id: str  # ISA06 / GS02
    receiver_qualifier: str
    receiver_id: str  # ISA08 / GS03
    submitter_name: str  # 1000A NM103
    submitter_id: str  # 1000A NM109
    contact_name: str  # 1000A PER02
    contact_phone: str  # 1000A PER04 (digits)
    receiver_name: str  # 1000B NM103
    receiver_edi_id: str  # 1000B NM109
    control_number: int  # ISA13 and GS06
    transaction_control_number: str  # ST02 (4-9 characters)
    reference: str  # BHT03: our batch number
    created: datetime.datetime
    usage: str = "P"


@dataclass(frozen=True)
class BillingProvider:
    key: object  # claims with the same key share one 2000A loop
    name: str
    npi: str
    tax_id: str
    address: Address


@dataclass(frozen=True)
class Subscriber:
    last_name: str
    first_name: str
    member_id: str  # decrypted only here, into the file
    birth_date: datetime.date | None
    sex: str  # F, M, U
    address: Address | None
    group_number: str = ""


@dataclass(frozen=True)
class PayerInfo:
    name: str
    payer_id: str
    filing_code: str  # SBR09
    responsibility: str = "P"  # SBR01: P primary, S secondary, T tertiary


@dataclass(frozen=True)
class Person:
    last_name: str
    first_name: str
    npi: str


@dataclass(frozen=True)
class Adjustment:
    """A CAS adjustment: group (CO, PR, OA, PI), reason code (CARC), amount."""

    group: str
    reason: str
    amount: Decimal
    quantity: Decimal | None = None


@dataclass(frozen=True)
class OtherPayerLine:
    """2430 line adjudication by the other payer."""

    line_number: int
    paid: Decimal
    hcpcs: str
    modifiers: Sequence[str]
    units: int
    adjudicated_on: datetime.date
    adjustments: Sequence[Adjustment] = ()


@dataclass(frozen=True)
class OtherPayer:
    """2320/2330 other subscriber information (a prior payer's adjudication)."""

    responsibility: str  # SBR01 of that payer: P, S, T
    filing_code: str  # SBR09 of that payer
    payer_name: str
    payer_id: str
    subscriber_last_name: str
    subscriber_first_name: str
    member_id: str
    paid_amount: Decimal
    adjudicated_on: datetime.date
    adjustments: Sequence[Adjustment] = ()  # claim-level CAS
    lines: Sequence[OtherPayerLine] = ()
    group_number: str = ""
    remaining_patient_liability: Decimal | None = None


@dataclass(frozen=True)
class Attachment:
    """PWK: a document sent with or for the claim (report type, transmission, id)."""

    report_type: str  # PWK01, e.g. CT certification, OZ support data, 03 report
    transmission: str  # PWK02: BM mail, EL electronic, EM e-mail, FX fax, FT file
    control_number: str  # PWK06 attachment control number


@dataclass(frozen=True)
class Line:
    number: int
    hcpcs: str
    modifiers: Sequence[str]
    charge: Decimal
    units: int
    pointers: Sequence[int]
    service_date: datetime.date
    control_number: str  # REF*6R
    ordering_provider: Person | None
    service_end: datetime.date | None = None
    is_rental: bool = False
    length_of_need_months: int | None = None
    certification_type: str = "I"
    authorization_number: str = ""


@dataclass(frozen=True)
class ClaimData:
    number: str
    billing_provider: BillingProvider
    subscriber: Subscriber
    payer: PayerInfo
    diagnoses: Sequence[str]  # ICD-10-CM, without dots
    lines: Sequence[Line]
    place_of_service: str = "12"
    frequency: str = "1"
    payer_claim_number: str = ""
    prior_authorization: str = ""
    referring_provider: Person | None = None
    attachments: Sequence[Attachment] = ()
    other_payers: Sequence[OtherPayer] = field(default_factory=tuple)

    @property
    def total_charge(self) -> Decimal:
        return sum((line.charge for line in self.lines), Decimal("0"))


def amount(value: Decimal) -> str:
    """An X12 R (decimal) value: no trailing zeros, no exponent (12.50 -> 12.5)."""
    text = f"{Decimal(value).quantize(Decimal('0.01')):f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def _date(value: datetime.date) -> str:
    return value.strftime("%Y%m%d")


def _digits(value: str) -> str:
    return "".join(c for c in value or "" if c.isdigit())


class _ClaimChecks:
    """Collects what a claim lacks, then refuses it with every reason at once."""

    def __init__(self, claim: ClaimData) -> None:
        self.claim = claim
        self.reasons: list[str] = []

    def need(self, condition: object, reason: str) -> None:
        if not condition:
            self.reasons.append(reason)

    def done(self) -> None:
        if self.reasons:
            raise BuildError(f"Claim {self.claim.number}: " + " ".join(self.reasons))


def check_claim(claim: ClaimData) -> None:
    """Refuse a claim the 837P cannot carry, naming every missing element (no PHI)."""
    c = _ClaimChecks(claim)
    bp = claim.billing_provider
    c.need(len(_digits(bp.npi)) == 10, "The billing provider NPI (2010AA NM109) is missing.")
    c.need(len(_digits(bp.tax_id)) == 9, "The billing provider tax ID (REF*EI) needs 9 digits.")
    c.need(
        bp.address.line1 and bp.address.city and bp.address.state,
        "The billing location's address is incomplete (2010AA N3/N4).",
    )
    c.need(
        len(_digits(bp.address.postal_code)) == 9,
        "The billing location's ZIP code needs 9 digits, ZIP+4 (005010X222A1 2010AA N403).",
    )
    c.need(claim.subscriber.member_id, "The coverage has no member ID (2010BA NM109).")
    c.need(claim.subscriber.last_name, "The patient's last name is missing.")
    c.need(claim.subscriber.birth_date, "The patient's date of birth is missing (DMG02).")
    c.need(claim.payer.payer_id, "The payer has no electronic payer ID (2010BB NM109).")
    c.need(claim.payer.filing_code, "The payer has no claim filing indicator (SBR09).")
    c.need(claim.diagnoses, "The claim has no diagnosis (HI).")
    c.need(len(claim.diagnoses) <= MAX_DIAGNOSES, "The claim has more than 12 diagnoses.")
    c.need(claim.lines, "The claim has no lines.")
    c.need(len(claim.lines) <= 50, "An 837P claim carries at most 50 lines (2400 loop).")
    c.need(claim.frequency in ("1", "7", "8"), "The claim frequency must be 1, 7 or 8.")
    c.need(
        claim.frequency == "1" or claim.payer_claim_number,
        "A replacement (7) or void (8) needs the payer's claim number (REF*F8).",
    )
    c.need(
        claim.payer.responsibility == "P" or claim.other_payers,
        "A secondary claim needs the prior payer's adjudication (2320/2330 loops).",
    )
    for line in claim.lines:
        c.need(
            line.ordering_provider is not None and len(_digits(line.ordering_provider.npi)) == 10,
            f"Line {line.number} has no ordering provider with an NPI (2420E).",
        )
        c.need(
            not line.is_rental or line.length_of_need_months,
            f"Rental line {line.number} has no length of need (CR3).",
        )
        c.need(1 <= len(line.pointers) <= 4, f"Line {line.number} needs 1-4 diagnosis pointers.")
        c.need(len(line.modifiers) <= 4, f"Line {line.number} has more than 4 modifiers.")
    c.done()


class _Builder:
    def __init__(self, envelope: Envelope, out: io.StringIO) -> None:
        self.e = envelope
        self.w = SegmentWriter(out, DEFAULT_DELIMITERS, newline=True)
        self.hl = 0
        self.provider_hl = 0
        self.provider_key: object = object()
        self.claims = 0

    def id(self, value: object, what: str) -> str:
        return clean_id(value, what)

    def header(self) -> None:
        e, w = self.e, self.w
        created = e.created
        w.raw(
            isa_segment(
                InterchangeHeader(
                    sender_qualifier=e.sender_qualifier,
                    sender_id=e.sender_id,
                    receiver_qualifier=e.receiver_qualifier,
                    receiver_id=e.receiver_id,
                    date=created.strftime("%y%m%d"),
                    time=created.strftime("%H%M"),
                    control_number=e.control_number,
                    usage=e.usage,
                )
            )
        )
        w.write(
            "GS",
            "HC",
            self.id(e.sender_id, "GS sender code"),
            self.id(e.receiver_id, "GS receiver code"),
            created.strftime("%Y%m%d"),
            created.strftime("%H%M"),
            str(e.control_number),
            "X",
            IMPLEMENTATION,
        )
        w.write("ST", "837", e.transaction_control_number, IMPLEMENTATION)
        w.write(
            "BHT",
            "0019",
            "00",
            self.id(e.reference, "batch number"),
            created.strftime("%Y%m%d"),
            created.strftime("%H%M"),
            "CH",
        )
        # 1000A submitter, 1000B receiver.
        w.write(
            "NM1", "41", "2", clean(e.submitter_name)[:60], None, None, None, None, "46",
            self.id(e.submitter_id, "EDI submitter ID"),
        )  # fmt: skip
        w.write("PER", "IC", clean(e.contact_name)[:60], "TE", _digits(e.contact_phone))
        w.write(
            "NM1", "40", "2", clean(e.receiver_name)[:60], None, None, None, None, "46",
            self.id(e.receiver_edi_id, "EDI receiver ID"),
        )  # fmt: skip

    def address(self, address: Address) -> None:
        self.w.write("N3", clean(address.line1)[:55], clean(address.line2)[:55] or None)
        self.w.write(
            "N4",
            clean(address.city)[:30],
            clean(address.state)[:2],
            _digits(address.postal_code),
        )

    def billing_provider(self, bp: BillingProvider) -> None:
        self.hl += 1
        self.provider_hl = self.hl
        self.provider_key = bp.key
        w = self.w
        w.write("HL", str(self.hl), None, "20", "1")
        w.write(
            "NM1", "85", "2", clean(bp.name)[:60], None, None, None, None, "XX", _digits(bp.npi),
        )  # fmt: skip
        self.address(bp.address)
        w.write("REF", "EI", _digits(bp.tax_id))

    def claim(self, claim: ClaimData) -> None:
        check_claim(claim)
        if claim.billing_provider.key != self.provider_key:
            self.billing_provider(claim.billing_provider)
        self.claims += 1
        w = self.w
        s, p = claim.subscriber, claim.payer
        self.hl += 1
        w.write("HL", str(self.hl), str(self.provider_hl), "22", "0")
        w.write(
            "SBR", p.responsibility, "18", clean(s.group_number)[:50] or None,
            None, None, None, None, None, p.filing_code,
        )  # fmt: skip
        # 2010BA subscriber (= the patient: SBR02 18).
        w.write(
            "NM1", "IL", "1", clean(s.last_name)[:60], clean(s.first_name)[:35] or None,
            None, None, None, "MI", self.id(s.member_id, "member ID"),
        )  # fmt: skip
        if s.address is not None and s.address.line1:
            self.address(s.address)
        assert s.birth_date is not None
        w.write("DMG", "D8", _date(s.birth_date), s.sex if s.sex in ("F", "M") else "U")
        # 2010BB payer.
        w.write(
            "NM1", "PR", "2", clean(p.name)[:60], None, None, None, None, "PI",
            self.id(p.payer_id, "payer ID"),
        )  # fmt: skip
        self.claim_loop(claim)

    def claim_loop(self, claim: ClaimData) -> None:
        w = self.w
        w.write(
            "CLM",
            self.id(claim.number, "claim number"),
            amount(claim.total_charge),
            None,
            None,
            Component(claim.place_of_service, "B", claim.frequency),
            "Y",
            "A",
            "Y",
            "Y",
        )
        for attachment in claim.attachments[:10]:
            w.write(
                "PWK",
                clean(attachment.report_type)[:2],
                clean(attachment.transmission)[:2],
                None,
                None,
                "AC",
                self.id(attachment.control_number, "attachment control number")[:80],
            )
        if claim.prior_authorization:
            w.write("REF", "G1", self.id(claim.prior_authorization, "prior authorization")[:50])
        if claim.frequency in ("7", "8"):
            w.write("REF", "F8", self.id(claim.payer_claim_number, "payer claim number")[:50])
        codes = [clean_id(code, "diagnosis code").replace(".", "") for code in claim.diagnoses]
        w.write(
            "HI",
            *[Component("ABK" if i == 0 else "ABF", code) for i, code in enumerate(codes)],
        )
        if claim.referring_provider is not None:
            r = claim.referring_provider
            w.write(
                "NM1", "DN", "1", clean(r.last_name)[:60], clean(r.first_name)[:35] or None,
                None, None, None, "XX", _digits(r.npi),
            )  # fmt: skip
        for other in claim.other_payers:
            self.other_payer(other)
        for line in claim.lines:
            self.line(claim, line)

    def other_payer(self, o: OtherPayer) -> None:
        w = self.w
        w.write(
            "SBR", o.responsibility, "18", clean(o.group_number)[:50] or None,
            None, None, None, None, None, o.filing_code,
        )  # fmt: skip
        self.cas(o.adjustments)
        w.write("AMT", "D", amount(o.paid_amount))
        if o.remaining_patient_liability is not None:
            w.write("AMT", "EAF", amount(o.remaining_patient_liability))
        w.write("OI", None, None, "Y", None, None, "Y")
        w.write(
            "NM1", "IL", "1", clean(o.subscriber_last_name)[:60],
            clean(o.subscriber_first_name)[:35] or None, None, None, None, "MI",
            self.id(o.member_id, "other payer member ID"),
        )  # fmt: skip
        w.write(
            "NM1", "PR", "2", clean(o.payer_name)[:60], None, None, None, None, "PI",
            self.id(o.payer_id, "other payer ID"),
        )  # fmt: skip
        w.write("DTP", "573", "D8", _date(o.adjudicated_on))

    def cas(self, adjustments: Sequence[Adjustment]) -> None:
        by_group: dict[str, list[Adjustment]] = {}
        for adj in adjustments:
            by_group.setdefault(clean(adj.group)[:2], []).append(adj)
        for group, items in by_group.items():
            # CAS holds up to six reason/amount/quantity triplets per group.
            for start in range(0, len(items), 6):
                elements: list[str | None] = [group]
                for adj in items[start : start + 6]:
                    elements += [
                        clean(adj.reason)[:5],
                        amount(adj.amount),
                        amount(adj.quantity) if adj.quantity is not None else None,
                    ]
                self.w.write("CAS", *elements)

    def line(self, claim: ClaimData, line: Line) -> None:
        w = self.w
        w.write("LX", str(line.number))
        code = clean_id(line.hcpcs, "HCPCS code")
        modifiers = [clean_id(m, "modifier") for m in line.modifiers][:4]
        w.write(
            "SV1",
            Component("HC", code, *modifiers),
            amount(line.charge),
            "UN",
            str(line.units),
            None,
            None,
            Component(*[str(p) for p in line.pointers]),
        )
        if line.is_rental:
            w.write("CR3", line.certification_type, "MO", str(line.length_of_need_months))
        if line.service_end and line.service_end != line.service_date:
            w.write("DTP", "472", "RD8", f"{_date(line.service_date)}-{_date(line.service_end)}")
        else:
            w.write("DTP", "472", "D8", _date(line.service_date))
        if line.authorization_number and line.authorization_number != claim.prior_authorization:
            w.write("REF", "G1", self.id(line.authorization_number, "prior authorization")[:50])
        w.write("REF", "6R", self.id(line.control_number, "line item control number")[:50])
        o = line.ordering_provider
        assert o is not None
        w.write(
            "NM1", "DK", "1", clean(o.last_name)[:60], clean(o.first_name)[:35] or None,
            None, None, None, "XX", _digits(o.npi),
        )  # fmt: skip
        for other in claim.other_payers:
            for adjudicated in other.lines:
                if adjudicated.line_number == line.number:
                    self.line_adjudication(other, adjudicated)

    def line_adjudication(self, other: OtherPayer, a: OtherPayerLine) -> None:
        w = self.w
        w.write(
            "SVD",
            self.id(other.payer_id, "other payer ID"),
            amount(a.paid),
            Component("HC", clean_id(a.hcpcs, "HCPCS code"), *list(a.modifiers)[:4]),
            None,
            str(a.units),
        )
        self.cas(a.adjustments)
        w.write("DTP", "573", "D8", _date(a.adjudicated_on))

    def trailer(self) -> None:
        w, e = self.w, self.e
        w.write("SE", str(w.since_st + 1), e.transaction_control_number)
        w.write("GE", "1", str(e.control_number))
        w.write("IEA", "1", f"{e.control_number:09d}")


def generate_837p(envelope: Envelope, claims: Iterable[ClaimData]) -> Iterator[str]:
    """Yield the 837P as text pieces (the envelope, then one piece per claim).

    Raises :class:`BuildError` naming the claim and what it lacks; nothing is yielded
    past it. At most :data:`MAX_CLAIMS` claims; at least one.
    """
    out = io.StringIO()
    builder = _Builder(envelope, out)

    def drain() -> str:
        text = out.getvalue()
        out.seek(0)
        out.truncate()
        return text

    builder.header()
    yield drain()
    for claim in claims:
        if builder.claims >= MAX_CLAIMS:
            raise BuildError(f"An 837P transaction set holds at most {MAX_CLAIMS} claims.")
        builder.claim(claim)
        yield drain()
    if not builder.claims:
        raise BuildError("A batch needs at least one claim.")
    builder.trailer()
    yield drain()


def build_837p(envelope: Envelope, claims: Iterable[ClaimData]) -> str:
    """The whole file as one string (tests; production streams ``generate_837p``)."""
    return "".join(generate_837p(envelope, claims))


__all__ = [
    "IMPLEMENTATION",
    "MAX_CLAIMS",
    "Address",
    "Adjustment",
    "Attachment",
    "BillingProvider",
    "BuildError",
    "ClaimData",
    "Envelope",
    "Line",
    "OtherPayer",
    "OtherPayerLine",
    "PayerInfo",
    "Person",
    "Subscriber",
    "amount",
    "build_837p",
    "check_claim",
    "generate_837p",
]
