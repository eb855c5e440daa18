"""Fee schedules: the importer of the CMS DMEPOS layout (all-or-nothing, row numbers),
the allowable a rental month or purchase expects, the supplier's charge list, and the
underpayment flag when a payment posts below the expected reimbursement."""

import datetime
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from accounts.choices import Role
from dme.choices import BillingKind
from hme import services
from hme.models import Claim, FeeBand, FeeScheduleEntry, SupplierCharge
from hme.rules import month_date_of_service
from tests.clinical.factories import DiagnosisFactory
from tests.dme.factories import CPAPFactory, RentalFactory
from tests.hme.factories import (
    CoverageFactory,
    DeliveredLineFactory,
    DeliveredOrderFactory,
    FeeScheduleEntryFactory,
    PayerFactory,
    PaymentFactory,
)

START = datetime.date(2026, 1, 15)
# A synthetic file in the layout of the CMS DMEPOS fee schedule (made-up fees).
SAMPLE = """HCPCS,MOD,MOD2,JURIS,CATG,OH (NR),OH (R),PA (NR),PA (R),SHORTDESC
E0601,NU,,D,IN,712.50,790.10,701.00,780.00,Cont airway pressure device
E0601,RR,,D,IN,71.25,79.01,70.10,78.00,Cont airway pressure device
E0601,UE,,D,IN,534.38,592.58,525.75,585.00,Cont airway pressure device
A7030,,,D,SU,145.12,160.30,140.00,155.00,Cpap full face mask
E1390,RR,,D,OX,,,,,Oxygen concentrator
"""


def write(tmp_path, text, name="DMEPOS26_JAN.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.fixture
def payer(company):
    return PayerFactory(company=company, state="OH")


def run(path, payer, **options):
    call_command(
        "import_fee_schedule",
        str(path),
        payer=str(payer.pk),
        effective_from="2026-01-01",
        **options,
    )


def test_it_imports_the_state_column_with_bands_and_a_summary(tmp_path, payer, capsys):
    run(write(tmp_path, SAMPLE), payer, state="OH")
    entries = {
        (e.hcpcs, e.modifier, e.band): e.allowable
        for e in FeeScheduleEntry.objects.filter(payer=payer)
    }
    assert entries == {
        ("E0601", "NU", FeeBand.NEW_PURCHASE): Decimal("712.50"),
        ("E0601", "RR", FeeBand.RENTAL_1_3): Decimal("71.25"),
        ("E0601", "UE", FeeBand.USED_PURCHASE): Decimal("534.38"),
        ("A7030", "", FeeBand.UNIT): Decimal("145.12"),
    }
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-1] == (
        f"Imported 4 fee(s) for {payer.name} (OH); closed 0 earlier fee(s); skipped 1 row(s) "
        "without a OH fee."
    )


def test_the_rural_column_and_a_later_file_closes_the_earlier_fees(tmp_path, payer):
    run(write(tmp_path, SAMPLE), payer, state="PA", rural=True)
    assert FeeScheduleEntry.objects.get(hcpcs="A7030").allowable == Decimal("155.00")
    call_command(
        "import_fee_schedule",
        str(write(tmp_path, SAMPLE, "DMEPOS26_APR.csv")),
        payer=str(payer.pk),
        state="PA",
        rural=True,
        effective_from="2026-04-01",
    )
    old = FeeScheduleEntry.objects.get(hcpcs="A7030", effective_from=datetime.date(2026, 1, 1))
    assert old.effective_to == datetime.date(2026, 3, 31)
    assert FeeScheduleEntry.objects.filter(effective_to__isnull=True).count() == 4


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("X12,NU,,D,IN,1.00,1,1,1,Bad", "row 3: 'X12' is not a HCPCS code"),
        ("E0601,NUU,,D,IN,1.00,1,1,1,Bad", "row 3: modifier 'NUU'"),
        ("E0602,NU,,D,IN,12.345,1,1,1,Bad", "row 3: the OH (NR) fee '12.345'"),
        ("E0602,NU,,D,IN,abc,1,1,1,Bad", "row 3: the OH (NR) fee 'abc' is not an amount"),
        ("E0601,NU,,D,IN,1.00,1,1,1,Again", "row 3: E0601 NU  repeats row 2"),
    ],
)
def test_a_bad_row_is_refused_with_its_number_and_nothing_is_imported(
    tmp_path, payer, row, message
):
    text = "HCPCS,MOD,MOD2,JURIS,CATG,OH (NR),OH (R),PA (NR),PA (R),SHORTDESC\n"
    text += "E0601,NU,,D,IN,712.50,790.10,701.00,780.00,Cont airway pressure device\n"
    text += row + "\n"
    with pytest.raises(CommandError) as refused:
        run(write(tmp_path, text), payer, state="OH")
    assert message in str(refused.value)
    assert "nothing imported" in str(refused.value)
    assert not FeeScheduleEntry.objects.exists()


def test_bad_arguments_are_one_readable_line(tmp_path, payer):
    path = write(tmp_path, SAMPLE)
    with pytest.raises(CommandError, match="no fee column for TX"):
        run(path, payer, state="TX")
    with pytest.raises(CommandError, match="No such file"):
        run(tmp_path / "missing.csv", payer, state="OH")
    with pytest.raises(CommandError, match="--payer takes the payer's id"):
        call_command(
            "import_fee_schedule", str(path), payer="medicare", effective_from="2026-01-01"
        )
    with pytest.raises(CommandError, match="Not a CMS DMEPOS fee schedule file"):
        run(write(tmp_path, "CODE,FEE\nE0601,1\n", "other.csv"), payer, state="OH")
    run(path, payer, state="OH")
    with pytest.raises(CommandError, match="already has OH fees"):
        run(path, payer, state="OH")


# Expected reimbursement -----------------------------------------------------------------


@pytest.fixture
def rental(company, payer):
    cpap = CPAPFactory(company=company, is_serialized=False, purchase_price=Decimal("1000.00"))
    rental = RentalFactory(company=company, start_date=START, order_line__equipment=cpap)
    rental.order.location.state = "OH"
    rental.order.location.save()
    CoverageFactory(company=company, patient=rental.patient, payer=payer)
    DiagnosisFactory(company=company, patient=rental.patient, code="G4733")
    return rental


def expected_of(rental, number):
    claim = Claim.objects.get(rental=rental, rental_month=number)
    return claim.lines.get()


def test_rental_months_take_the_fee_schedule_in_force(rental, payer):
    FeeScheduleEntryFactory(
        company=rental.company,
        payer=payer,
        modifier="RR",
        band=FeeBand.RENTAL_1_3,
        allowable=Decimal("71.25"),
    )
    services.bill_rental_months(as_of=month_date_of_service(START, 4))
    first = expected_of(rental, 1)
    assert first.expected_amount == Decimal("71.25")
    assert first.expected_basis.startswith(f"{payer.name} OH fee schedule from 2026-01-01")
    fourth = expected_of(rental, 4)
    # No KJ row: months 4-13 are 75% of the months 1-3 fee (42 CFR 414.229(f)).
    assert fourth.expected_amount == Decimal("53.44")
    assert "x 0.75" in fourth.expected_basis
    assert Claim.objects.get(pk=fourth.claim_id).expected_amount == Decimal("53.44")


def test_without_a_fee_schedule_the_percentage_of_the_purchase_price_is_shown(rental):
    services.bill_rental_months(as_of=month_date_of_service(START, 4))
    first, fourth = expected_of(rental, 1), expected_of(rental, 4)
    assert (first.expected_amount, first.expected_basis) == (
        Decimal("100.00"),
        "10% of the purchase price (no fee schedule in force)",
    )
    assert (fourth.expected_amount, fourth.expected_basis) == (
        Decimal("75.00"),
        "7.5% of the purchase price (no fee schedule in force)",
    )


def test_the_supplier_charge_list_sets_the_charge(rental):
    SupplierCharge.objects.create(
        company=rental.company, hcpcs="E0601", band=FeeBand.RENTAL_1_3, charge=Decimal("120.00")
    )
    services.bill_rental_months(as_of=START)
    assert expected_of(rental, 1).charge == Decimal("120.00")


def test_a_payment_below_the_expected_reimbursement_flags_the_claim(company, payer):
    order = DeliveredOrderFactory(company=company)
    cpap = CPAPFactory(company=company, billing_kind=BillingKind.PURCHASE)
    DeliveredLineFactory(order=order, equipment=cpap, unit_price=Decimal("900.00"))
    order.location.state = "OH"
    order.location.save()
    CoverageFactory(company=company, patient=order.patient, payer=payer)
    DiagnosisFactory(company=company, patient=order.patient, code="G4733")
    FeeScheduleEntryFactory(company=company, payer=payer, effective_from=order.delivered_on)
    claim = services.create_claim_for_delivery(order)
    assert claim.lines.get().expected_amount == Decimal("700.00")
    services.submit_claim(claim)
    services.mark_processing(claim)
    services.approve_claim(claim, allowed=Decimal("600.00"))
    payment = PaymentFactory(company=company, payer=payer, amount=Decimal("480.00"))
    services.post_payment(
        payment,
        [
            {
                "claim": claim,
                "amount": Decimal("480.00"),
                "adjustments": [{"group": "PR", "code": "2", "amount": Decimal("120.00")}],
            }
        ],
    )
    claim.refresh_from_db()
    assert claim.underpaid_amount == Decimal("100.00")
    assert claim.is_underpaid


def test_the_fee_schedule_admin_lists_only_the_companys_fees(client, personas, company):
    mine = FeeScheduleEntryFactory(company=company)
    FeeScheduleEntryFactory()
    client.force_login(personas[Role.BILLING])
    response = client.get(reverse("admin:hme_feescheduleentry_changelist"))
    assert [row.pk for row in response.context["cl"].result_list] == [mine.pk]
