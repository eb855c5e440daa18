"""The 837P builder: every file passes pyx12 (005010X222A1) and carries the DME segments."""

import datetime
from decimal import Decimal

import pytest

from dme import services as dme_services
from dme.choices import LineKind
from hme.edi import data as edi_data
from hme.edi import x837
from hme.edi.x12 import X12Error
from hme.services import submission
from tests.clinical.factories import ProviderFactory
from tests.dme.factories import OrderLineFactory, RentalFactory
from tests.hme.edi_helpers import (
    assert_dme_segments,
    assert_valid_837p,
    claim,
    edi_claim,
    envelope,
    line,
    pyx12_errors,
)
from tests.hme.factories import AuthorizationFactory, CoverageFactory, PayerFactory, claim_line

SECONDARY_OTHER_PAYER = x837.OtherPayer(
    responsibility="P",
    filing_code="MB",
    payer_name="Medicare DME MAC B",
    payer_id="17003",
    subscriber_last_name="Testpatient",
    subscriber_first_name="Alex",
    member_id="1EG4TE5MK73",
    paid_amount=Decimal("80.00"),
    adjudicated_on=datetime.date(2026, 11, 20),
    adjustments=[
        x837.Adjustment("CO", "45", Decimal("25.00")),
        x837.Adjustment("PR", "2", Decimal("20.00")),
    ],
    lines=[
        x837.OtherPayerLine(
            line_number=1,
            paid=Decimal("80.00"),
            hcpcs="E0601",
            modifiers=["RR", "KH"],
            units=1,
            adjudicated_on=datetime.date(2026, 11, 20),
            adjustments=[x837.Adjustment("CO", "45", Decimal("25.00"))],
        )
    ],
    remaining_patient_liability=Decimal("20.00"),
)


def synthetic_claims():
    return [
        claim(
            "C-000001",
            prior_authorization="UTN0000000001",
            attachments=[x837.Attachment("CT", "FX", "DOC0001")],
        ),
        claim(
            "C-000002",
            frequency="7",
            payer_claim_number="PCN123456",
            lines=[
                line(
                    1,
                    hcpcs="A7030",
                    modifiers=["NU"],
                    is_rental=False,
                    length_of_need_months=None,
                    service_end=datetime.date(2026, 11, 30),
                    authorization_number="UTN0000000009",
                    control_number="C-000002-1",
                ),
                line(2, control_number="C-000002-2", pointers=[1, 2]),
            ],
        ),
        claim(
            "C-000003",
            payer=x837.PayerInfo("Ohio Medicaid", "MCD01", "MC", "S"),
            other_payers=[SECONDARY_OTHER_PAYER],
            lines=[line(1, control_number="C-000003-1")],
        ),
    ]


def test_a_synthetic_batch_passes_pyx12_with_every_dme_segment():
    text = x837.build_837p(envelope(), synthetic_claims())
    assert_valid_837p(text)
    loops = assert_dme_segments(
        text,
        rentals={("C-000001", 1), ("C-000002", 2), ("C-000003", 1)},
        authorizations={"C-000001": "UTN0000000001", "C-000002": "UTN0000000009"},
    )
    by_number = {c["clm"][1]: c for c in loops}
    assert by_number["C-000001"]["sbr"][9] == "MB"
    assert by_number["C-000001"]["clm"][5] == "12:B:1"
    assert by_number["C-000002"]["clm"][5] == "12:B:7"
    assert by_number["C-000002"]["refs"]["F8"] == "PCN123456"
    assert by_number["C-000002"]["lines"][0]["dtp"][3] == "20261102-20261130"
    assert by_number["C-000002"]["lines"][0]["cr3"] is None
    assert "PWK*CT*FX***AC*DOC0001~" in text
    assert "HI*ABK:G4733*ABF:J449~" in text
    assert "SV1*HC:E0601:RR:KH*125*UN*1***1:2~" in text


def test_the_secondary_claim_carries_the_other_payer_loops():
    text = x837.build_837p(envelope(), synthetic_claims()[2:])
    assert_valid_837p(text)
    assert "SBR*S*18*******MC~" in text  # 2000B: we bill the secondary
    assert "SBR*P*18*******MB~" in text  # 2320: Medicare paid first
    assert "CAS*CO*45*25~" in text
    assert "CAS*PR*2*20~" in text
    assert "AMT*D*80~" in text
    assert "AMT*EAF*20~" in text
    assert "SVD*17003*80*HC:E0601:RR:KH**1~" in text
    assert text.count("DTP*573*D8*20261120~") == 2  # 2330B and 2430


@pytest.mark.parametrize(
    ("cut", "message"),
    [
        ("CR3*I*MO*99~\n", "CR3 missing"),
        ("REF*G1*UTN0000000001~\n", "REF\\*G1"),
        ("NM1*DK*1*WELBY*MARCUS****XX*1234567893~\n", "2420E missing"),
        ("*******MB~", "SBR09 missing"),
    ],
)
def test_the_dme_checks_fail_when_a_segment_goes_missing(cut, message):
    text = x837.build_837p(envelope(), synthetic_claims()[:1])
    broken = text.replace(cut, "*******~" if cut.startswith("*") else "", 1)
    assert broken != text
    with pytest.raises(AssertionError, match=message):
        assert_dme_segments(
            broken, rentals={("C-000001", 1)}, authorizations={"C-000001": "UTN0000000001"}
        )


def test_pyx12_helper_reports_errors():
    text = x837.build_837p(envelope(), synthetic_claims()[:1])
    errors = pyx12_errors(text.replace("*UN*1***1~", "*XX*1***1~", 1))
    assert any("SV103" in e for e in errors)


def test_the_builder_streams_one_piece_per_claim():
    pieces = list(x837.generate_837p(envelope(), [claim(f"C-{n:06d}") for n in range(1, 6)]))
    assert len(pieces) == 7  # envelope head, five claims, trailer
    assert pieces[1].startswith("HL*1**20*1~")
    assert all(p.startswith("HL*") for p in pieces[2:6])
    assert pieces[-1].startswith("SE*")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"payer": x837.PayerInfo("X", "", "MB")}, "electronic payer ID"),
        ({"payer": x837.PayerInfo("X", "1", "")}, "SBR09"),
        ({"lines": [line(ordering_provider=None)]}, "2420E"),
        ({"lines": [line(length_of_need_months=None)]}, "CR3"),
        ({"frequency": "7"}, "REF\\*F8"),
        ({"payer": x837.PayerInfo("X", "1", "MC", "S")}, "2320/2330"),
        ({"diagnoses": []}, "diagnosis"),
    ],
)
def test_a_claim_lacking_an_element_is_refused_by_name(change, reason):
    with pytest.raises(x837.BuildError, match=reason) as caught:
        x837.build_837p(envelope(), [claim(**change)])
    assert "C-000001" in caught.value.message
    assert "1EG4TE5MK73" not in caught.value.message


def test_an_identifier_with_a_delimiter_is_refused_not_altered():
    bad = claim(subscriber=x837.Subscriber("A", "B", "12*34", datetime.date(1950, 1, 2), "F", None))
    with pytest.raises(X12Error, match="member ID"):
        x837.build_837p(envelope(), [bad])


def test_amounts_are_x12_decimals():
    assert x837.amount(Decimal("125.00")) == "125"
    assert x837.amount(Decimal("12.50")) == "12.5"
    assert x837.amount(Decimal("0.05")) == "0.05"
    assert x837.amount(Decimal("0")) == "0"


# From our records --------------------------------------------------------------------


def _text(batch):
    return b"".join(submission.batch_file(batch)).decode()


@pytest.fixture(autouse=True)
def _edi_dirs(settings, tmp_path):
    settings.EDI_STORE_DIR = tmp_path / "store"
    settings.EDI_OUTBOX_DIR = tmp_path / "out"
    settings.EDI_INBOX_DIR = tmp_path / "in"


@pytest.mark.django_db
def test_a_rental_claim_from_an_order_line_carries_cr3_6r_2420e_and_g1(company):
    payer = PayerFactory(company=company)
    coverage = CoverageFactory(company=company, payer=payer)
    prescriber = ProviderFactory(company=company, last_name="Ordering", npi="1234567893")
    order_line = OrderLineFactory(
        company=company,
        order__patient=coverage.patient,
        order__prescriber=prescriber,
        kind=LineKind.RENTAL,
    )
    rental = RentalFactory(
        company=company,
        patient=coverage.patient,
        order=order_line.order,
        order_line=order_line,
        cap_months=13,
    )
    auth = AuthorizationFactory(company=company, coverage=coverage, hcpcs_codes=["K0823"])
    month = dme_services.record_rental_month(rental)  # the month the rental line bills
    the_claim = edi_claim(
        company,
        payer,
        coverage=coverage,
        lines=[
            claim_line(hcpcs="E0601", modifiers=["RR", "KH"], charge=Decimal("110.00"),
                       date_of_service=month.date_of_service, rental_month=month),
            claim_line(hcpcs="K0823", modifiers=["NU"], charge=Decimal("2000.00")),
        ],
        rental=rental,
        rental_month=1,
    )  # fmt: skip
    assert the_claim.lines.get(line_number=2).authorization == auth
    batch = submission.create_batch(company, [the_claim])
    text = _text(batch)
    assert_valid_837p(text)
    loops = assert_dme_segments(
        text,
        rentals={(the_claim.number, 1), (the_claim.number, 2)},
        authorizations={the_claim.number: auth.number},
    )
    lines = loops[0]["lines"]
    assert lines[0]["cr3"].elements[1:4] == ("I", "MO", "13")  # the rental's cap in months
    assert lines[0]["refs"]["6R"] == f"{the_claim.number}-1"
    assert lines[1]["refs"]["6R"] == f"{the_claim.number}-2"
    assert lines[0]["ordering"][3] == "ORDERING"  # the order's prescriber
    assert loops[0]["sbr"][9] == "MB"
    assert f"*MI*{coverage.member_id}~" in text  # decrypted into the file only


@pytest.mark.django_db
def test_length_of_need_defaults_to_lifetime_and_ordering_falls_back_to_referring(company):
    the_claim = edi_claim(company, lines=[claim_line(modifiers=["RR", "KH"])])
    text = _text(submission.create_batch(company, [the_claim]))
    assert_valid_837p(text)
    loops = assert_dme_segments(text, rentals={(the_claim.number, 1)})
    assert loops[0]["lines"][0]["cr3"][3] == "99"
    assert loops[0]["lines"][0]["ordering"][9] == the_claim.referring_provider.npi


@pytest.mark.django_db
def test_a_secondary_claim_from_our_records_takes_other_payer_input(company):
    from hme.choices import CoveragePriority, PayerKind

    payer = PayerFactory(company=company, kind=PayerKind.MEDICAID, name="Ohio Medicaid")
    coverage = CoverageFactory(
        company=company, payer=payer, priority=CoveragePriority.SECONDARY, member_id="MCD12345"
    )
    the_claim = edi_claim(company, payer, coverage=coverage)
    with pytest.raises(Exception, match="2320/2330"):
        submission.create_batch(company, [the_claim])
    other = SECONDARY_OTHER_PAYER
    inputs = {the_claim.pk: submission.ClaimInput(other_payers=[other])}
    batch = submission.create_batch(company, [the_claim], inputs=inputs)
    text = _text(batch)
    assert_valid_837p(text)
    assert "SBR*S*18*******MC~" in text
    assert "AMT*D*80~" in text


@pytest.mark.django_db
def test_registered_providers_fill_pwk_and_other_payers(company):
    def provider(claim):
        return [x837.Attachment("OZ", "EL", f"ATT{claim.number[2:]}")]

    edi_data.register_attachment_provider(provider)
    try:
        the_claim = edi_claim(company)
        text = _text(submission.create_batch(company, [the_claim]))
    finally:
        edi_data.unregister_provider(provider)  # the apps' own providers stay
    assert_valid_837p(text)
    assert f"PWK*OZ*EL***AC*ATT{the_claim.number[2:]}~" in text


@pytest.mark.django_db
def test_records_missing_what_the_837p_needs_are_refused_with_reasons(company):
    from tests.factories import LocationFactory

    the_claim = edi_claim(company, billing_location=LocationFactory(company=company))
    company.npi = ""
    company.save()
    with pytest.raises(Exception, match="ZIP code needs 9 digits") as caught:
        submission.create_batch(company, [the_claim])
    assert "NPI" in str(caught.value)
    from hme.models import SubmissionBatch

    assert not SubmissionBatch.objects.exists()
