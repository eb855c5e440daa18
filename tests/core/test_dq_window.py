"""Incremental set-based data-quality checks (issue 19 item 6): after a passed full pass a
check reads only the rows written since (its window, core.quality.checks.changed_rows),
and the full pass, due every ``DATA_QUALITY_FULL_PASS_DAYS``, finds what the window
cannot see (deleted rows, writes that bypass ``updated_at``)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from clinical import checks_dq as clinical_checks
from core.quality import checks as checks_module
from core.quality.runner import run_checks
from dme import checks_dq as dme_checks
from dme import services as dme_services
from dme.models import RentalMonth
from hme import checks_dq as hme_checks
from hme.models import Claim, ClaimLine, PaymentAllocation
from tests.clinical.factories import PatientFactory
from tests.dme.factories import RentalFactory
from tests.hme.factories import ClaimFactory, paid_claim

pytestmark = pytest.mark.django_db
WINDOW = "changed since the last run"


@pytest.fixture(autouse=True)
def no_margin(settings):
    # The rows of a test are seconds old: no margin, or every run would re-read them.
    settings.DATA_QUALITY_INCREMENTAL_MARGIN = 0
    settings.DATA_QUALITY_FULL_PASS_DAYS = 7


def run(name):
    return run_checks([name]).findings.select_related("run").get()


def passed_full_pass(name):
    finding = run(name)
    assert finding.passed, finding.detail
    assert finding.full_pass_at == finding.run.started_at
    assert finding.detail.endswith("(full pass).")
    return finding


def seen_by_the_window(name, pk):
    """The fault written since the passed run is found by the incremental run."""
    finding = run(name)
    assert WINDOW in finding.detail, finding.detail
    assert (finding.passed, finding.count, finding.sample_ids) == (False, 1, [str(pk)])
    return finding


def found_by_the_full_pass_only(name, pk, settings):
    """The fault the window cannot see: passed by the incremental run, found by the
    full pass once it is due."""
    quiet = run(name)
    assert quiet.passed, quiet.detail
    assert WINDOW in quiet.detail, quiet.detail
    settings.DATA_QUALITY_FULL_PASS_DAYS = 0
    caught = run(name)
    assert caught.detail.endswith("(full pass).")
    assert (caught.count, caught.sample_ids) == (1, [str(pk)])


def long_ago():
    """An ``updated_at`` a restore or a raw UPDATE could leave: older than any run."""
    return timezone.now() - timedelta(days=30)


def test_claim_totals_a_line_written_since_puts_its_claim_in_the_window(company, settings):
    name = "hme.claim_total_matches_lines"
    claim = ClaimFactory(company=company)
    other = ClaimFactory(company=company)
    passed_full_pass(name)
    line = claim.lines.get()
    line.charge += Decimal("1.00")
    line.save()  # the claim's total not recomputed: a service that forgot it
    seen_by_the_window(name, claim.pk)
    ClaimLine.objects.filter(pk=line.pk).update(charge=line.charge - Decimal("1.00"))
    passed_full_pass(name)  # after a failed run, a full pass
    Claim.objects.filter(pk=other.pk).update(total_charge=Decimal("1.00"), updated_at=long_ago())
    found_by_the_full_pass_only(name, other.pk, settings)


def test_claim_paid_an_allocation_written_since_puts_its_claim_in_the_window(company, settings):
    name = "hme.claim_paid_matches_allocations"
    (claim, _), (other, _) = paid_claim(company), paid_claim(company)
    passed_full_pass(name)
    allocation = PaymentAllocation.objects.get(claim=claim)
    allocation.amount = Decimal("299.00")
    allocation.save()  # the claim's paid amount not recomputed
    seen_by_the_window(name, claim.pk)
    PaymentAllocation.objects.filter(pk=allocation.pk).update(amount=Decimal("300.00"))
    passed_full_pass(name)
    Claim.objects.filter(pk=other.pk).update(paid_amount=Decimal("1.00"), updated_at=long_ago())
    found_by_the_full_pass_only(name, other.pk, settings)


def test_diagnosis_pointers_a_claim_written_since_puts_its_lines_in_the_window(company, settings):
    name = "hme.claimline_diagnosis_pointers"
    claim = ClaimFactory(company=company, diagnosis_codes=["G4733", "J449"])
    other = ClaimFactory(company=company).lines.get()
    line = claim.lines.get()
    ClaimLine.objects.filter(pk=line.pk).update(diagnosis_pointers=[2])
    passed_full_pass(name)
    # The claim loses its second diagnosis: the line's pointer 2 points past the list.
    Claim.objects.filter(pk=claim.pk).update(diagnosis_codes=["G4733"], updated_at=timezone.now())
    seen_by_the_window(name, line.pk)
    Claim.objects.filter(pk=claim.pk).update(diagnosis_codes=["G4733", "J449"])
    passed_full_pass(name)
    ClaimLine.objects.filter(pk=other.pk).update(diagnosis_pointers=[1, 1], updated_at=long_ago())
    found_by_the_full_pass_only(name, other.pk, settings)


def test_rental_months_a_month_written_since_puts_its_rental_in_the_window(company, settings):
    name = "dme.rental_months_without_gap"
    rental, other = RentalFactory(company=company), RentalFactory(company=company)
    for each in (rental, other):
        for _ in range(3):
            dme_services.record_rental_month(each)
    passed_full_pass(name)
    month = RentalMonth.objects.get(rental=rental, sequence=3)
    month.sequence = 4
    month.save()  # months 1, 2, 4
    seen_by_the_window(name, rental.pk)
    RentalMonth.objects.filter(pk=month.pk).update(sequence=3)
    passed_full_pass(name)
    # A deleted month leaves no row with a new updated_at: only the full pass sees it.
    RentalMonth.objects.filter(rental=other, sequence=2).delete()
    found_by_the_full_pass_only(name, other.pk, settings)


def test_a_cross_company_reference_written_since_is_in_the_window(company, other_company, settings):
    name = "hme.claim_patient_company"
    claim, other = ClaimFactory(company=company), ClaimFactory(company=company)
    passed_full_pass(name)
    stranger = PatientFactory(company=other_company)
    Claim.objects.filter(pk=claim.pk).update(patient=stranger, updated_at=timezone.now())
    seen_by_the_window(name, claim.pk)
    Claim.objects.filter(pk=claim.pk).update(patient=claim.patient)
    passed_full_pass(name)
    Claim.objects.filter(pk=other.pk).update(patient=stranger, updated_at=long_ago())
    found_by_the_full_pass_only(name, other.pk, settings)


def test_a_format_check_reads_the_rows_written_since(company, settings):
    name = "hme.claimline_modifiers_format"
    line = ClaimFactory(company=company).lines.get()
    other = ClaimFactory(company=company).lines.get()
    passed_full_pass(name)
    ClaimLine.objects.filter(pk=line.pk).update(modifiers=["KX", "GA"], updated_at=timezone.now())
    seen_by_the_window(name, line.pk)
    ClaimLine.objects.filter(pk=line.pk).update(modifiers=line.modifiers)
    passed_full_pass(name)
    ClaimLine.objects.filter(pk=other.pk).update(modifiers=["KX", "GA"], updated_at=long_ago())
    found_by_the_full_pass_only(name, other.pk, settings)


def test_the_window_is_read_in_chunks_and_a_too_large_one_is_a_full_pass(
    company, settings, monkeypatch
):
    name = "hme.claimline_modifiers_format"
    lines = [ClaimFactory(company=company).lines.get() for _ in range(3)]
    passed_full_pass(name)
    bad = sorted(line.pk for line in lines[:2])
    ClaimLine.objects.filter(pk__in=bad).update(modifiers=["KX", "GA"], updated_at=timezone.now())
    monkeypatch.setattr(checks_module, "WINDOW_CHUNK", 1)
    chunked = run(name)
    assert (chunked.count, chunked.sample_ids) == (2, [str(pk) for pk in bad])
    assert chunked.detail == "2 failing of 2 claim lines changed since the last run."
    ClaimLine.objects.filter(pk__in=bad).update(modifiers=["NU"])
    passed_full_pass(name)
    ClaimLine.objects.filter(pk__in=bad).update(modifiers=["KX", "GA"], updated_at=timezone.now())
    monkeypatch.setattr(checks_module, "WINDOW_LIMIT", 1)
    large = run(name)
    assert large.detail == "2 failing claim lines (full pass)."
    assert large.full_pass_at == large.run.started_at


def test_every_incremental_check_reads_its_window_after_a_passed_run(company):
    first = {f.check_name: f for f in run_checks().findings.select_related("run")}
    second = {f.check_name: f for f in run_checks().findings.all()}
    incremental = {
        name
        for name, finding in second.items()
        if WINDOW in finding.detail and finding.full_pass_at == first[name].run.started_at
    }
    assert {
        "hme.claim_total_matches_lines",
        "hme.claim_paid_matches_allocations",
        "hme.claimline_billed_twice",
        "hme.claimline_diagnosis_pointers",
        "hme.claimline_duplicate_service",
        "dme.rental_months_without_gap",
        "dme.open_orders_fully_reserved",
    } <= incremental
    # Every cross-company reference check (one per foreign key between tenant models).
    tenant_checks = {*clinical_checks.TENANT_CHECKS, *dme_checks.TENANT_CHECKS}
    assert {*tenant_checks, *hme_checks.TENANT_CHECKS} <= incremental
    for name in incremental:
        # Nothing was written between the two runs: an empty window.
        assert second[name].detail.startswith("0 "), (name, second[name].detail)
        assert " of 0 " in second[name].detail, (name, second[name].detail)
