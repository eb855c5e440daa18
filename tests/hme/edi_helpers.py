"""Test helpers for the EDI tests: pyx12 validation in-process, synthetic claim data."""

import datetime
import io
import json
import logging
from decimal import Decimal

import pyx12.error_handler
import pyx12.params
import pyx12.x12n_document

from hme.edi import x837


def pyx12_errors(text: str) -> list[str]:
    """Every error pyx12 (4.0.0, its 005010X222A1 map) finds in ``text``, as lines.

    Runs the validator in-process (``x12n_document``) with its JSON error output, and
    also collects what it logs at ERROR (a file it cannot read at all)."""
    params = pyx12.params.params()
    out_json = io.StringIO()
    records: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record):
            if record.levelno >= logging.ERROR:
                records.append(record.getMessage())

    handler = Collect()
    logger = logging.getLogger("pyx12")
    logger.addHandler(handler)
    try:
        ok = pyx12.x12n_document.x12n_document(
            params, io.StringIO(text), fd_997=None, fd_html=None, fd_json=out_json
        )
    finally:
        logger.removeHandler(handler)
    errors = list(records)
    raw = out_json.getvalue().strip()
    if raw:
        for item in _walk(json.loads(raw)):
            errors.append(item)
    if not ok and not errors:
        errors.append("pyx12 reports the file invalid")
    return errors


def _walk(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("errors", "err") and isinstance(value, list):
                for err in value:
                    yield json.dumps(err, sort_keys=True)
            else:
                yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def assert_valid_837p(text: str) -> None:
    errors = pyx12_errors(text)
    assert errors == [], "pyx12 found errors:\n" + "\n".join(errors)


ADDRESS = x837.Address("100 MAIN ST", "", "COLUMBUS", "OH", "432151234")
ORDERING = x837.Person("WELBY", "MARCUS", "1234567893")


def envelope(control_number=1, **overrides):
    data = {
        "sender_qualifier": "ZZ",
        "sender_id": "SUBMIT01",
        "receiver_qualifier": "ZZ",
        "receiver_id": "CLEARHOUSE",
        "submitter_name": "Acme Medical Supply",
        "submitter_id": "SUBMIT01",
        "contact_name": "Billing Office",
        "contact_phone": "614-555-0100",
        "receiver_name": "Example Clearinghouse",
        "receiver_edi_id": "CLEARHOUSE",
        "control_number": control_number,
        "transaction_control_number": f"{control_number:04d}",
        "reference": "B-000001",
        "created": datetime.datetime(2026, 12, 1, 9, 30, tzinfo=datetime.UTC),
        "usage": "T",
    }
    data.update(overrides)
    return x837.Envelope(**data)


def line(number=1, **overrides):
    data = {
        "number": number,
        "hcpcs": "E0601",
        "modifiers": ["RR", "KH"],
        "charge": Decimal("125.00"),
        "units": 1,
        "pointers": [1],
        "service_date": datetime.date(2026, 11, 2),
        "control_number": f"C-000001-{number}",
        "ordering_provider": ORDERING,
        "is_rental": True,
        "length_of_need_months": 99,
    }
    data.update(overrides)
    return x837.Line(**data)


def claim(number="C-000001", **overrides):
    data = {
        "number": number,
        "billing_provider": x837.BillingProvider(
            key="loc-1",
            name="Acme Medical Supply",
            npi="1558598797",
            tax_id="311234567",
            address=ADDRESS,
        ),
        "subscriber": x837.Subscriber(
            last_name="Testpatient",
            first_name="Alex",
            member_id="1EG4TE5MK73",
            birth_date=datetime.date(1950, 1, 2),
            sex="F",
            address=ADDRESS,
        ),
        "payer": x837.PayerInfo(name="Medicare DME MAC B", payer_id="17003", filing_code="MB"),
        "diagnoses": ["G4733", "J449"],
        "lines": [line(1)],
    }
    data.update(overrides)
    return x837.ClaimData(**data)


# ORM side ------------------------------------------------------------------------------


def set_up_edi(company, payer):
    """The EDI settings a company and a payer need before a batch (made-up ids)."""
    company.legal_name = "Acme Medical Supply LLC"
    company.tax_id = "31-1234567"
    company.phone = "(614) 555-0100"
    company.edi_submitter_id = "SUBMIT01"
    company.edi_contact_name = "Billing Office"
    company.save()
    payer.edi_receiver_name = "Example Clearinghouse"
    payer.edi_receiver_id = "CLEARHOUSE"
    payer.save()


def edi_claim(company, payer=None, **kwargs):
    """A pending claim ready for an 837P: 9-digit ZIP billing location, EDI settings."""
    from tests.factories import LocationFactory
    from tests.hme.factories import ClaimFactory, CoverageFactory, PayerFactory

    payer = payer or PayerFactory(company=company)
    set_up_edi(company, payer)
    kwargs.setdefault("coverage", CoverageFactory(company=company, payer=payer))
    kwargs.setdefault(
        "billing_location", LocationFactory(company=company, postal_code="43215-1234")
    )
    return ClaimFactory(company=company, **kwargs)


def _line_segment(line, seg):
    if seg.id in ("SV1", "CR3"):
        line[seg.id.lower()] = seg
    elif seg.id == "DTP" and seg[1] == "472":
        line["dtp"] = seg
    elif seg.id == "REF":
        line["refs"][seg[1]] = seg[2]
    elif seg.id == "NM1" and seg[1] == "DK":
        line["ordering"] = seg


def claim_loops(text):
    """The 837P as claims with their loops, for the DME segment checks:
    ``[{"sbr": Segment, "clm": Segment, "refs": {qual: value}, "lines": [...]}]``;
    each line ``{"sv1", "cr3", "dtp", "refs": {...}, "ordering": NM1*DK or None}``."""
    from hme.edi.x12 import read_segments

    claims = []
    sbr = None
    current = None
    line = None
    # Segments only (no envelope check): a test may cut one out without fixing SE01.
    for seg in read_segments(text):
        if seg.id == "HL" and seg[3] == "22":
            sbr, current, line = None, None, None
        elif seg.id == "SBR" and current is None:
            sbr = seg
        elif seg.id == "CLM":
            current = {"sbr": sbr, "clm": seg, "refs": {}, "lines": []}
            claims.append(current)
            line = None
        elif current is None:
            continue
        elif seg.id == "LX":
            line = {"sv1": None, "cr3": None, "dtp": None, "refs": {}, "ordering": None}
            current["lines"].append(line)
        elif line is None and seg.id == "REF":
            current["refs"][seg[1]] = seg[2]
        elif line is not None:
            _line_segment(line, seg)
    return claims


def assert_dme_segments(text, *, rentals=(), authorizations=None):
    """Every claim has SBR09; every line 2420E (NPI) and REF*6R; each line number in
    ``rentals`` (claim number, line) has CR3; each ``authorizations`` {claim: number}
    has REF*G1."""
    loops = claim_loops(text)
    assert loops, "no claim in the file"
    for claim in loops:
        number = claim["clm"][1]
        assert claim["sbr"] is not None, f"{number}: SBR missing"
        assert claim["sbr"][9], f"{number}: SBR09 missing"
        for index, line in enumerate(claim["lines"], 1):
            assert line["ordering"] is not None, f"{number} line {index}: 2420E missing"
            assert line["ordering"][8] == "XX"
            assert len(line["ordering"][9]) == 10
            assert line["refs"].get("6R"), f"{number} line {index}: REF*6R missing"
            if (number, index) in rentals:
                assert line["cr3"] is not None, f"{number} line {index}: CR3 missing"
                assert line["cr3"][2] == "MO"
                assert line["cr3"][3]
    for number, auth in (authorizations or {}).items():
        claim = next(c for c in loops if c["clm"][1] == number)
        refs = [claim["refs"].get("G1")] + [line["refs"].get("G1") for line in claim["lines"]]
        assert auth in refs, f"{number}: REF*G1 {auth} missing"
    return loops
