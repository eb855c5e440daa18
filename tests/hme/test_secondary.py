"""Secondary claims: the primary's PR balance goes to the secondary coverage as a new
claim carrying the primary's adjudication (its 837P passes pyx12 with the 2320/2430
loops); CO write-offs are recorded and never billed; without a secondary the balance
is the patient's."""

import datetime
from decimal import Decimal

from accounts.models import Location
from hme.choices import CoveragePriority
from hme.edi.data import claim_data, data_queryset
from hme.edi.x12 import read_transactions
from hme.edi.x837 import build_837p
from hme.models import Claim, SecondaryClaim
from hme.services.remittance import import_835
from hme.services.secondary import create_secondary_claim, other_payer_data, write_offs
from tests.hme.factories import CommercialPayerFactory, CoverageFactory

from .edi_helpers import assert_valid_837p, envelope, set_up_edi
from .remittance_helpers import fixture, medicare, sent_claim

D = Decimal


def with_secondary(company):
    payer = medicare(company)
    primary_coverage = CoverageFactory(company=company, payer=payer)
    secondary_payer = CommercialPayerFactory(company=company, payer_id="60054")
    CoverageFactory(
        company=company,
        patient=primary_coverage.patient,
        payer=secondary_payer,
        priority=CoveragePriority.SECONDARY,
        member_id="W123456789",
        effective_date=datetime.date(2024, 1, 1),
    )
    claim = sent_claim(company, payer, coverage=primary_coverage)
    return claim, secondary_payer


def test_the_pr_balance_becomes_a_secondary_claim(company):
    primary, secondary_payer = with_secondary(company)
    import_835(company, fixture("835_paid.x12"))
    link = SecondaryClaim.objects.get(primary=primary)
    secondary = link.claim
    assert secondary.payer == secondary_payer
    assert secondary.coverage.priority == CoveragePriority.SECONDARY
    assert [(line.hcpcs, line.modifiers, line.charge) for line in secondary.lines.all()] == [
        (line.hcpcs, line.modifiers, line.charge) for line in primary.lines.all()
    ]
    data = other_payer_data(secondary)
    assert (data["paid"], data["patient_responsibility"]) == (D("544.00"), D("136.00"))
    line = data["lines"][1]
    assert line["paid"] == D("544.00")
    assert sorted((a["group"], a["code"], a["amount"]) for a in line["adjustments"]) == [
        ("CO", "45", D("170.00")),
        ("PR", "2", D("136.00")),
    ]
    # Made once: posting again (or asking again) returns the same claim.
    assert create_secondary_claim(primary) == secondary


def test_the_secondary_claims_837p_passes_pyx12_with_its_other_payer_loops(company):
    primary, secondary_payer = with_secondary(company)
    import_835(company, fixture("835_paid.x12"))
    secondary = SecondaryClaim.objects.get(primary=primary).claim
    set_up_edi(company, secondary_payer)
    Location.objects.filter(pk=secondary.billing_location_id).update(postal_code="43215-1234")
    secondary = data_queryset(Claim.objects.filter(pk=secondary.pk)).get()
    text = build_837p(envelope(), [claim_data(secondary)])
    assert_valid_837p(text)
    (tx,) = list(read_transactions(text))
    ids = [seg.id for seg in tx.body]
    sbrs = [seg for seg in tx.body if seg.id == "SBR"]
    assert [seg[1] for seg in sbrs] == ["S", "P"]  # ours secondary, the other primary
    amt = next(seg for seg in tx.body if seg.id == "AMT" and seg[1] == "D")
    assert amt[2] == "544"
    svd = next(seg for seg in tx.body if seg.id == "SVD")
    assert (svd[1], svd[2]) == ("17003", "544")
    cas = [seg for seg in tx.body[ids.index("SVD") :] if seg.id == "CAS"]
    assert {(seg[1], seg[2], seg[3]) for seg in cas} == {("CO", "45", "170"), ("PR", "2", "136")}


def test_co_write_offs_are_recorded_and_never_billed(company):
    primary, _ = with_secondary(company)
    import_835(company, fixture("835_paid.x12"))
    primary.refresh_from_db()
    assert write_offs(primary) == D("170.00")
    # What the primary paid plus what the patient (or the secondary) owes is the
    # allowed amount: the write-off is owed by no one.
    assert primary.paid_amount + primary.patient_responsibility == primary.allowed_amount
    assert primary.total_charge - primary.allowed_amount == write_offs(primary)


def test_without_a_secondary_no_claim_is_made(company):
    payer = medicare(company)
    primary = sent_claim(company, payer)
    import_835(company, fixture("835_paid.x12"))
    primary.refresh_from_db()
    assert create_secondary_claim(primary) is None
    assert not SecondaryClaim.objects.exists()
    assert Claim.objects.count() == 1


def test_a_balance_the_payer_paid_in_full_makes_no_secondary(company):
    with_secondary(company)
    data = (
        fixture("835_paid.x12")
        .replace(b"CAS*PR*2*136", b"CAS*CO*253*136")
        .replace(b"*544*136*MB*", b"*544*0*MB*")
    )
    import_835(company, data)
    assert not SecondaryClaim.objects.exists()
