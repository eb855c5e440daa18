"""The billing data-quality checks: each finds the row it is about (sample id) and
passes what the services wrote."""

import datetime
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import Value
from django.utils import timezone

from core.quality import get_checks
from core.quality.runner import run_checks
from dme.models import Rental
from hme import services
from hme.choices import AuthorizationStatus, ClaimStatus
from hme.models import Authorization, Claim, ClaimLine, Coverage, PaymentAllocation
from tests.clinical.factories import DiagnosisFactory, PatientFactory
from tests.dme.factories import OrderFactory, OrderLineFactory, RentalFactory
from tests.hme.factories import (
    AuthorizationFactory,
    ClaimFactory,
    CommercialPayerFactory,
    CoverageFactory,
    PayerFactory,
    claim_line,
    paid_claim,
)

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate


def found(name):
    """``(count, sample ids)`` of one check, run and stored by the runner."""
    finding = run_checks([name]).findings.get()
    assert finding.passed == (finding.count == 0), finding.detail
    return finding.count, finding.sample_ids


# Referential integrity -------------------------------------------------------------------


def test_it_registers_a_company_check_for_every_billing_foreign_key():
    names = {c.name for c in get_checks() if c.name.startswith("hme.")}
    assert {
        "hme.coverage_patient_company",
        "hme.coverage_payer_company",
        "hme.authorization_coverage_company",
        "hme.claim_patient_company",
        "hme.claim_coverage_company",
        "hme.claim_order_company",
        "hme.claim_rental_company",
        "hme.claim_referring_provider_company",
        "hme.claim_billing_location_company",
        "hme.claimline_authorization_company",
        "hme.claimline_order_line_company",
        "hme.payment_payer_company",
        "hme.paymentallocation_claim_company",
        "hme.adjustment_allocation_company",
    } <= names


def test_it_finds_a_coverage_and_a_claim_pointing_into_another_company(company, other_company):
    claim = ClaimFactory(company=company)
    coverage = claim.coverage
    assert found("hme.coverage_patient_company") == (0, [])
    assert found("hme.claim_coverage_company") == (0, [])
    Coverage.objects.filter(pk=coverage.pk).update(patient=PatientFactory(company=other_company))
    Claim.objects.filter(pk=claim.pk).update(coverage=CoverageFactory(company=other_company))
    assert found("hme.coverage_patient_company") == (1, [str(coverage.pk)])
    assert found("hme.claim_coverage_company") == (1, [str(claim.pk)])
    assert found("hme.claim_patient_company") == (0, [])


# Records that lost their context ---------------------------------------------------------


def test_it_finds_a_claim_on_another_patients_policy_or_payer(company):
    ClaimFactory(company=company)
    on_other_policy, other_payer = ClaimFactory(company=company), ClaimFactory(company=company)
    assert found("hme.claim_coverage_is_the_patients") == (0, [])
    assert found("hme.claim_payer_is_the_coverages") == (0, [])
    stranger = CoverageFactory(company=company, payer=on_other_policy.payer)
    Claim.objects.filter(pk=on_other_policy.pk).update(coverage=stranger)
    Claim.objects.filter(pk=other_payer.pk).update(payer=PayerFactory(company=company))
    assert found("hme.claim_coverage_is_the_patients") == (1, [str(on_other_policy.pk)])
    assert found("hme.claim_payer_is_the_coverages") == (1, [str(other_payer.pk)])


def test_it_finds_a_claim_whose_order_or_rental_is_another_patients(company):
    rental = RentalFactory(company=company)
    coverage = CoverageFactory(company=company, patient=rental.patient)
    for_rental = ClaimFactory(company=company, coverage=coverage)
    Claim.objects.filter(pk=for_rental.pk).update(rental=rental, rental_month=1, order=rental.order)
    for_order = ClaimFactory(
        company=company, coverage=coverage, lines=[claim_line(date_of_service=TODAY())]
    )
    Claim.objects.filter(pk=for_order.pk).update(order=rental.order)
    assert found("hme.claim_order_and_rental_match") == (0, [])
    Claim.objects.filter(pk=for_order.pk).update(order=OrderFactory(company=company))
    Claim.objects.filter(pk=for_rental.pk).update(order=OrderFactory(company=company))
    count, samples = found("hme.claim_order_and_rental_match")
    assert (count, sorted(samples)) == (2, sorted([str(for_order.pk), str(for_rental.pk)]))


def test_it_finds_a_line_billing_another_orders_line(company):
    order = OrderFactory(company=company)
    claim = ClaimFactory(company=company)
    Claim.objects.filter(pk=claim.pk).update(order=order)
    line = claim.lines.get()
    ClaimLine.objects.filter(pk=line.pk).update(
        order_line=OrderLineFactory(company=company, order=order)
    )
    assert found("hme.claimline_order_line_on_the_claims_order") == (0, [])
    ClaimLine.objects.filter(pk=line.pk).update(order_line=OrderLineFactory(company=company))
    assert found("hme.claimline_order_line_on_the_claims_order") == (1, [str(line.pk)])


def test_it_finds_a_line_billed_under_another_patients_authorization(company):
    authorization = AuthorizationFactory(company=company)
    claim = ClaimFactory(
        company=company,
        coverage=authorization.coverage,
        lines=[claim_line(hcpcs="K0823", modifiers=["NU"])],
    )
    line = claim.lines.get()
    assert line.authorization == authorization
    assert line.draws_authorization
    assert found("hme.claimline_authorization_is_the_patients") == (0, [])
    assert found("hme.authorization_units_match_claims") == (0, [])
    Authorization.objects.filter(pk=authorization.pk).update(
        coverage=CoverageFactory(company=company)
    )
    assert found("hme.claimline_authorization_is_the_patients") == (1, [str(line.pk)])


def test_it_finds_allocations_to_another_payers_claim_or_line(company):
    claim, _ = paid_claim(company)
    allocation = PaymentAllocation.objects.get()
    assert found("hme.allocation_claim_of_the_payer") == (0, [])
    assert found("hme.allocation_line_on_its_claim") == (0, [])
    Claim.objects.filter(pk=claim.pk).update(payer=CommercialPayerFactory(company=company))
    assert found("hme.allocation_claim_of_the_payer") == (1, [str(allocation.pk)])
    PaymentAllocation.objects.filter(pk=allocation.pk).update(
        claim_line=ClaimFactory(company=company).lines.get()
    )
    assert found("hme.allocation_line_on_its_claim") == (1, [str(allocation.pk)])


# Invariants ------------------------------------------------------------------------------


def test_it_finds_drifted_line_payments_and_over_allocated_payments(company):
    claim, payment = paid_claim(company)
    line = claim.lines.get()
    assert line.paid_amount == Decimal("300.00")
    assert found("hme.claimline_paid_matches_allocations") == (0, [])
    assert found("hme.payment_allocations_within_amount") == (0, [])
    ClaimLine.objects.filter(pk=line.pk).update(paid_amount=Decimal("30.00"))
    PaymentAllocation.objects.update(amount=Decimal("1000.01"))
    assert found("hme.claimline_paid_matches_allocations") == (1, [str(line.pk)])
    assert found("hme.payment_allocations_within_amount") == (1, [str(payment.pk)])


def test_it_finds_a_claim_whose_allowed_amount_drifted(company):
    claim, _ = paid_claim(company)
    assert found("hme.claim_total_matches_lines") == (0, [])
    Claim.objects.filter(pk=claim.pk).update(allowed_amount=Decimal("1.00"))
    assert found("hme.claim_total_matches_lines") == (1, [str(claim.pk)])


def test_authorization_units_follow_the_claims_that_drew_them(company):
    authorization = AuthorizationFactory(company=company, units_approved=3)
    lines = [claim_line(hcpcs="K0823", modifiers=["NU"])]
    kept = ClaimFactory(company=company, coverage=authorization.coverage, lines=lines)
    voided = ClaimFactory(
        company=company,
        coverage=authorization.coverage,
        lines=[claim_line(hcpcs="K0823", modifiers=["NU"], date_of_service=TODAY())],
    )
    services.void_claim(voided, "entered twice")
    authorization.refresh_from_db()
    assert authorization.units_used == 1
    assert kept.lines.get().draws_authorization
    assert found("hme.authorization_units_match_claims") == (0, [])
    Authorization.objects.filter(pk=authorization.pk).update(units_used=2)
    assert found("hme.authorization_units_match_claims") == (1, [str(authorization.pk)])


def test_a_rentals_billed_months_are_its_claims(company):
    rental = RentalFactory(company=company, start_date=datetime.date(2025, 1, 15))
    CoverageFactory(company=company, patient=rental.patient)
    DiagnosisFactory(company=company, patient=rental.patient, code="G4733")
    assert not services.bill_rental_months(as_of=datetime.date(2025, 2, 20)).errors
    assert Rental.objects.get(pk=rental.pk).months_billed == 2
    assert found("hme.rental_months_billed_match_claims") == (0, [])
    Rental.objects.filter(pk=rental.pk).update(months_billed=3)
    assert found("hme.rental_months_billed_match_claims") == (1, [str(rental.pk)])


def test_it_finds_a_line_that_bills_nothing(company):
    claim = ClaimFactory(company=company)
    line = claim.lines.get()
    assert found("hme.claimline_bills_nothing") == (0, [])
    # As left by the migration for a line typed by hand before lines traced their item.
    ClaimLine.objects.filter(pk=line.pk).update(order_line=None, legacy=True)
    assert found("hme.claimline_bills_nothing") == (1, [str(line.pk)])


def test_it_finds_the_same_service_on_two_live_claims(company):
    coverage = CoverageFactory(company=company)
    first = ClaimFactory(company=company, coverage=coverage)
    second = ClaimFactory(
        company=company, coverage=coverage, lines=[claim_line(date_of_service=TODAY())]
    )
    assert found("hme.claimline_duplicate_service") == (0, [])
    assert found("hme.claimline_billed_twice") == (0, [])
    day = first.lines.get().date_of_service
    ClaimLine.objects.filter(claim=second).update(date_of_service=day)
    count, samples = found("hme.claimline_duplicate_service")
    assert (count, sorted(samples)) == (
        2,
        sorted([str(first.lines.get().pk), str(second.lines.get().pk)]),
    )
    services.void_claim(second, "Entered twice")
    assert found("hme.claimline_duplicate_service") == (0, [])


def test_it_flags_claims_paid_below_the_expected_reimbursement(company):
    claim, _payment = paid_claim(company)
    assert found("hme.claim_underpaid") == (0, [])
    Claim.objects.filter(pk=claim.pk).update(underpaid_amount=Decimal("40.00"))
    assert found("hme.claim_underpaid") == (1, [str(claim.pk)])


# Formats ---------------------------------------------------------------------------------


def test_it_finds_malformed_codes_on_claims_lines_and_authorizations(company):
    claim = ClaimFactory(company=company, diagnosis_codes=["G4733", "J449"])
    authorization = AuthorizationFactory(company=company, hcpcs_codes=["K0823", "E0601"])
    line = claim.lines.get()
    for name in ("claim_icd10_format", "claimline_hcpcs_format", "authorization_hcpcs_format"):
        assert found(f"hme.{name}") == (0, []), name
    Claim.objects.filter(pk=claim.pk).update(diagnosis_codes=["G47.33"])
    # As written outside the field (which normalises what it saves): a raw value.
    ClaimLine.objects.filter(pk=line.pk).update(hcpcs=Value("e0601"))
    Authorization.objects.filter(pk=authorization.pk).update(hcpcs_codes=[])
    assert found("hme.claim_icd10_format") == (1, [str(claim.pk)])
    assert found("hme.claimline_hcpcs_format") == (1, [str(line.pk)])
    assert found("hme.authorization_hcpcs_format") == (1, [str(authorization.pk)])
    Claim.objects.filter(pk=claim.pk).update(diagnosis_codes=[f"A0{n}" for n in range(10, 23)])
    assert found("hme.claim_icd10_format") == (1, [str(claim.pk)])  # 13 codes: over 12


@pytest.mark.parametrize(
    ("modifiers", "check"),
    [
        (["NU", "KX", "GZ"], "claimline_modifiers_format"),
        (["NU", "KX", "RT", "LT", "59"], "claimline_modifiers_format"),
        (["NU", "KX", "NU"], "claimline_modifiers_format"),
        (["KX"], "claimline_pricing_modifier"),  # E0601 is rented or bought
        (["RR", "NU"], "claimline_pricing_modifier"),
        (["NU", "KH"], "claimline_pricing_modifier"),  # a rental month on a purchase
        (["RR", "KH", "KI"], "claimline_pricing_modifier"),
    ],
)
def test_it_finds_claim_lines_with_wrong_modifiers(company, modifiers, check):
    ClaimFactory(
        company=company,
        lines=[
            claim_line(modifiers=["RR", "KJ", "KX"]),
            claim_line(hcpcs="A7030", modifiers=[]),  # a supply needs none
        ],
    )
    bad = ClaimFactory(company=company).lines.get()
    assert found(f"hme.{check}") == (0, [])
    ClaimLine.objects.filter(pk=bad.pk).update(modifiers=modifiers)
    assert found(f"hme.{check}") == (1, [str(bad.pk)])


@pytest.mark.parametrize(
    "pointers", [[], [3], [1, 1], [2, 1, 2], [1, 2, 3, 4, 5], [0], ["1"], [2, 13]], ids=str
)
def test_it_finds_diagnosis_pointers_that_point_nowhere(company, pointers):
    codes = ["G4733", "J449", "E1165", "I10", "R0902", "J9611", "G4730", "J449"[:3]]
    ClaimFactory(
        company=company,
        diagnosis_codes=codes,
        lines=[claim_line(diagnosis_pointers=[8, 1, 7, 2]), claim_line(diagnosis_pointers=[6])],
    )
    bad = ClaimFactory(company=company, diagnosis_codes=["G4733", "J449"]).lines.get()
    assert found("hme.claimline_diagnosis_pointers") == (0, [])
    ClaimLine.objects.filter(pk=bad.pk).update(diagnosis_pointers=pointers)
    assert found("hme.claimline_diagnosis_pointers") == (1, [str(bad.pk)])


def test_pointers_of_two_digits_are_judged_by_value(company):
    codes = [f"A0{n}" for n in range(10, 22)]  # twelve diagnoses
    line = ClaimFactory(
        company=company, diagnosis_codes=codes, lines=[claim_line(diagnosis_pointers=[12, 1])]
    ).lines.get()
    assert found("hme.claimline_diagnosis_pointers") == (0, [])
    Claim.objects.filter(pk=line.claim_id).update(diagnosis_codes=codes[:11])
    assert found("hme.claimline_diagnosis_pointers") == (1, [str(line.pk)])


def test_it_decrypts_medicare_member_ids_to_check_the_mbi(company, settings):
    # Every run a full pass (the incremental runs: tests/core/test_dq_incremental.py).
    settings.DATA_QUALITY_FULL_PASS_DAYS = 0
    CoverageFactory(company=company)
    CoverageFactory(company=company, payer=CommercialPayerFactory(company=company), member_id="X")
    bad = CoverageFactory(company=company)
    assert found("hme.coverage_medicare_mbi") == (0, [])
    # .update() skips clean() and save(): what an import or a restore could leave.
    Coverage.objects.filter(pk=bad.pk).update(member_id="1EG4TE5MK7S")
    assert found("hme.coverage_medicare_mbi") == (1, [str(bad.pk)])
    finding = run_checks(["hme.coverage_medicare_mbi"]).findings.get()
    assert finding.detail == "1 of 2 Medicare member IDs invalid."


# Business rules --------------------------------------------------------------------------


def test_it_warns_of_pending_claims_past_the_payers_timely_filing_limit(company):
    commercial = CommercialPayerFactory(company=company, timely_filing_days=90)

    def claim(days_ago, payer=None):
        coverage = CoverageFactory(company=company, payer=payer or PayerFactory(company=company))
        day = TODAY() - timedelta(days=days_ago)
        return ClaimFactory(
            company=company, coverage=coverage, lines=[claim_line(date_of_service=day)]
        )

    claim(365)  # Medicare 365 days: the deadline is today, still on time
    late = claim(366)
    claim(89, commercial)
    late_commercial = claim(91, commercial)
    sent = claim(400)
    Claim.objects.filter(pk=sent.pk).update(submitted_at=timezone.now())
    count, samples = found("hme.claims_past_timely_filing")
    assert (count, sorted(samples)) == (2, sorted([str(late.pk), str(late_commercial.pk)]))
    services.void_claim(late)
    assert found("hme.claims_past_timely_filing") == (1, [str(late_commercial.pk)])


def test_the_earliest_line_decides_the_filing_deadline(company):
    coverage = CoverageFactory(company=company, payer=CommercialPayerFactory(company=company))
    claim = ClaimFactory(
        company=company,
        coverage=coverage,
        lines=[
            claim_line(date_of_service=TODAY() - timedelta(days=10)),
            claim_line(date_of_service=TODAY() - timedelta(days=181)),
        ],
    )
    assert services.filing_deadline(claim) < TODAY()
    assert found("hme.claims_past_timely_filing") == (1, [str(claim.pk)])


def test_it_warns_of_authorizations_expiring_within_14_days(company):
    AuthorizationFactory(company=company, valid_to=TODAY() + timedelta(days=15))
    soon = AuthorizationFactory(company=company, valid_to=TODAY() + timedelta(days=14))
    today = AuthorizationFactory(company=company, valid_to=TODAY(), units_approved=2)
    AuthorizationFactory(company=company, valid_to=TODAY() + timedelta(days=3), units_used=1)
    AuthorizationFactory(
        company=company, valid_to=TODAY() + timedelta(days=3), status=AuthorizationStatus.EXPIRED
    )
    count, samples = found("hme.authorizations_expiring_soon")
    assert (count, sorted(samples)) == (2, sorted([str(soon.pk), str(today.pk)]))


def test_it_warns_when_the_nightly_jobs_leave_flags_behind(company):
    AuthorizationFactory(company=company, valid_to=TODAY() - timedelta(days=1))  # tonight's job
    stale_auth = AuthorizationFactory(company=company, valid_to=TODAY() - timedelta(days=2))
    current = CoverageFactory(company=company)
    ended = CoverageFactory(company=company, termination_date=TODAY() - timedelta(days=5))
    started = CoverageFactory(company=company, effective_date=TODAY() - timedelta(days=3))
    assert current.is_active
    assert not ended.is_active
    assert found("hme.coverage_in_force_flag_current") == (0, [])
    assert found("hme.authorizations_past_validity_still_approved") == (1, [str(stale_auth.pk)])
    Coverage.objects.filter(pk=ended.pk).update(is_active=True)
    Coverage.objects.filter(pk=started.pk).update(is_active=False)
    count, samples = found("hme.coverage_in_force_flag_current")
    assert (count, sorted(samples)) == (2, sorted([str(ended.pk), str(started.pk)]))


def test_it_warns_when_open_claims_lack_the_referring_provider(company):
    claims = [ClaimFactory(company=company) for _ in range(3)]
    assert found("hme.claim_referring_provider_null_ratio") == (0, [])
    Claim.objects.filter(pk=claims[0].pk).update(referring_provider=None)
    assert found("hme.claim_referring_provider_null_ratio")[0] == 1
    services.void_claim(claims[0])  # only open claims count
    assert found("hme.claim_referring_provider_null_ratio")[0] == 0


def test_claims_freshness(company):
    assert found("hme.claims_freshness") == (0, [])
    ClaimFactory(company=company)
    assert found("hme.claims_freshness") == (0, [])
    Claim.objects.update(updated_at=timezone.now() - timedelta(days=4, hours=1))
    assert found("hme.claims_freshness") == (1, [])
    assert ClaimStatus.PENDING in Claim.objects.values_list("status", flat=True)
