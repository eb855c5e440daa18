"""270/271 eligibility inquiry and response (ASC X12 005010X279A1).

:func:`build_270` writes one inquiry for one coverage: information source (2100A, the
payer by its payer id), receiver (2100B, the supplier by NPI), subscriber (2100C: name,
member id, date of birth, our TRN trace) and one service type, 12 (durable medical
equipment purchase) with DTP*291 the date asked about.

:func:`parse_271` reads what posting needs from each response: our trace (TRN*2 in
2000C, echoing the inquiry's), whether coverage is active (EB01 1-5) or not (EB01 6-8),
plan dates (DTP*291 / 346 / 347, D8 or RD8), the DME deductible left (EB01 C with
EB06 29 "remaining" and service type 12/18/DM or none) and coinsurance (EB01 A, EB08
as a fraction), and AAA rejection reasons (AAA03, 005010X279A1 section 1.4.8). Names
and member ids in the response are never read.
"""

import datetime
import io
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from .x12 import (
    InterchangeHeader,
    Segment,
    SegmentWriter,
    Transaction,
    X12Error,
    clean,
    clean_id,
    isa_segment,
    read_transactions,
)

# 005010X279A1 EB01 eligibility/benefit information codes.
ACTIVE_CODES = {"1", "2", "3", "4", "5"}
INACTIVE_CODES = {"6", "7", "8"}
# EB03 service types that are DME: 12 purchase, 18 rental, DM medical equipment.
DME_SERVICE_TYPES = {"12", "18", "DM", ""}
# AAA03 reject reason codes the payer may send (005010X279A1 AAA segment).
AAA_REASONS = {
    "15": "Required application data missing",
    "41": "Authorization/access restrictions",
    "42": "Unable to respond at current time",
    "43": "Invalid/missing provider identification",
    "45": "Invalid/missing provider specialty",
    "47": "Invalid/missing provider state",
    "51": "Provider not on file",
    "56": "Inappropriate date",
    "57": "Invalid/missing date(s) of service",
    "58": "Invalid/missing date-of-birth",
    "62": "Date of service not within allowable inquiry period",
    "63": "Date of service in future",
    "64": "Invalid/missing patient ID",
    "65": "Invalid/missing patient name",
    "67": "Patient not found",
    "68": "Duplicate patient ID number",
    "71": "Patient birth date does not match that for the patient on the database",
    "72": "Invalid/missing subscriber/insured ID",
    "73": "Invalid/missing subscriber/insured name",
    "75": "Subscriber/insured not found",
    "76": "Duplicate subscriber/insured ID number",
    "79": "Invalid participant identification",
}


@dataclass
class Inquiry:
    """What a 270 asks; every value comes from the coverage and the company."""

    reference: str  # BHT03 and TRN02: how the 271 finds its check
    control_number: int  # ISA13 / GS06
    payer_name: str
    payer_id: str
    provider_name: str
    provider_npi: str
    last_name: str
    first_name: str
    member_id: str
    date_of_birth: datetime.date | None
    day: datetime.date
    moment: datetime.datetime
    usage: str = "P"


def build_270(inquiry: Inquiry) -> bytes:
    """The 270 file (one interchange, one transaction) as bytes."""
    out = io.StringIO()
    writer = SegmentWriter(out)
    when = inquiry.moment
    sender = clean_id(inquiry.provider_npi, "supplier NPI")
    receiver = clean_id(inquiry.payer_id, "payer id")
    writer.raw(
        isa_segment(
            InterchangeHeader(
                sender_qualifier="XX" if len(sender) == 10 else "ZZ",
                sender_id=sender,
                receiver_qualifier="ZZ",
                receiver_id=receiver,
                date=when.strftime("%y%m%d"),
                time=when.strftime("%H%M"),
                control_number=inquiry.control_number,
                usage=inquiry.usage,
            )
        ).rstrip("\n")
    )
    number = str(inquiry.control_number)
    writer.write(
        "GS", "HS", sender, receiver, when.strftime("%Y%m%d"), when.strftime("%H%M"), number,
        "X", "005010X279A1",
    )  # fmt: skip
    start = writer.count
    writer.write("ST", "270", "0001", "005010X279A1")
    reference = clean_id(inquiry.reference, "inquiry reference")
    writer.write("BHT", "0022", "13", reference, when.strftime("%Y%m%d"), when.strftime("%H%M"))
    writer.write("HL", "1", "", "20", "1")
    writer.write("NM1", "PR", "2", clean(inquiry.payer_name), "", "", "", "", "PI", receiver)
    writer.write("HL", "2", "1", "21", "1")
    writer.write("NM1", "1P", "2", clean(inquiry.provider_name), "", "", "", "", "XX", sender)
    writer.write("HL", "3", "2", "22", "0")
    writer.write("TRN", "1", reference, f"1{sender[:9]}")
    writer.write(
        "NM1", "IL", "1", clean(inquiry.last_name), clean(inquiry.first_name), "", "", "", "MI",
        clean_id(inquiry.member_id, "member id"),
    )  # fmt: skip
    if inquiry.date_of_birth:
        writer.write("DMG", "D8", inquiry.date_of_birth.strftime("%Y%m%d"))
    writer.write("DTP", "291", "D8", inquiry.day.strftime("%Y%m%d"))
    writer.write("EQ", "12")
    writer.write("SE", str(writer.count - start + 1), "0001")
    writer.write("GE", "1", number)
    writer.write("IEA", "1", f"{inquiry.control_number:09d}")
    return out.getvalue().encode("ascii")


@dataclass
class Answer:
    """One 271 subscriber's answer."""

    reference: str
    active: bool | None = None
    plan_begin: datetime.date | None = None
    plan_end: datetime.date | None = None
    deductible_remaining: Decimal | None = None
    coinsurance_percent: Decimal | None = None
    rejections: list[dict[str, str]] = field(default_factory=list)


def _date_range(seg: Segment) -> tuple[datetime.date, datetime.date | None]:
    fmt, value = seg[2], seg[3]
    try:
        if fmt == "RD8":
            begin, end = value.split("-")
            return _ymd(begin), _ymd(end)
        if fmt == "D8":
            return _ymd(value), None
    except ValueError:
        pass
    raise seg.error("DTP03: a date is CCYYMMDD (D8) or CCYYMMDD-CCYYMMDD (RD8)")


def _ymd(text: str) -> datetime.date:
    return datetime.datetime.strptime(text, "%Y%m%d").date()  # noqa: DTZ007 (a date)


def _decimal(seg: Segment, index: int) -> Decimal:
    try:
        return Decimal(seg[index])
    except InvalidOperation:
        raise seg.error(f"{seg.id}{index:02d}: not a number") from None


def parse_271(tx: Transaction) -> list[Answer]:  # noqa: C901 (one branch per segment id)
    """The answers of one 271 transaction (one per subscriber loop 2000C)."""
    if tx.set_id != "271":
        raise tx.segments[0].error("ST01: not a 271")
    answers: list[Answer] = []
    current: Answer | None = None
    for seg in tx.body:
        sid = seg.id
        if sid == "HL" and seg[3] in ("22", "23"):
            current = Answer(reference="")
            answers.append(current)
        elif sid == "TRN" and current is not None and seg[1] == "2":
            current.reference = seg[2]
        elif sid == "AAA":
            code = seg[3]
            rejection = {
                "code": code,
                "reason": AAA_REASONS.get(code, "Rejected"),
                "action": seg[4],
            }
            if current is None:
                # Rejected at the payer or provider level: the whole inquiry.
                current = Answer(reference="")
                answers.append(current)
            current.rejections.append(rejection)
        elif sid == "DTP" and current is not None and seg[1] in ("291", "346", "347", "307"):
            begin, end = _date_range(seg)
            if seg[1] == "347":
                current.plan_end = begin
            else:
                current.plan_begin = begin
                if end is not None:
                    current.plan_end = end
        elif sid == "EB" and current is not None:
            code = seg[1]
            if code in ACTIVE_CODES:
                current.active = True
            elif code in INACTIVE_CODES and current.active is None:
                current.active = False
            service_types = set(seg.repeats(3)) or {""}
            if service_types & DME_SERVICE_TYPES:
                if code == "C" and seg[6] == "29" and seg[7]:
                    current.deductible_remaining = _decimal(seg, 7)
                elif code == "A" and seg[8]:
                    current.coinsurance_percent = (_decimal(seg, 8) * 100).quantize(Decimal("0.01"))
    for answer in answers:
        if not answer.reference:
            raise tx.segments[0].error("TRN02: the 271 does not echo the inquiry's trace (TRN*2)")
    return answers


def read_271(data: bytes | str) -> list[Answer]:
    answers = []
    for tx in read_transactions(data):
        answers.extend(parse_271(tx))
    if not answers:
        raise X12Error("The file holds no 271 answer.")
    return answers


__all__ = ["Answer", "Inquiry", "build_270", "parse_271", "read_271"]
