"""Incremental data-quality checks (issue 19 item 6): the decrypting MBI pass reads only
the policies changed since its last passed run, a full pass at least every
``DATA_QUALITY_FULL_PASS_DAYS``, and each finding records its time and full pass."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.quality.runner import run_checks
from hme.models import Coverage
from tests.hme.factories import CoverageFactory

CHECK = "hme.coverage_medicare_mbi"
BAD_MBI = "1EG4TE5MK7S"


@pytest.fixture(autouse=True)
def no_margin(settings):
    # The rows of a test are seconds old: no margin, or every run would re-read them.
    settings.DATA_QUALITY_INCREMENTAL_MARGIN = 0


def finding():
    return run_checks([CHECK]).findings.select_related("run").get()


def test_after_a_passed_full_pass_only_changed_rows_are_read(company):
    CoverageFactory.create_batch(3, company=company)
    first = finding()
    assert first.passed
    assert first.detail == "0 of 3 Medicare member IDs invalid."
    assert first.full_pass_at == first.run.started_at
    second = finding()
    assert second.detail == "0 of 0 Medicare member IDs invalid (those changed since the last run)."
    assert second.full_pass_at == first.full_pass_at
    # An import that sets updated_at (as every save does) is read by the next run.
    bad = Coverage.objects.order_by("pk").first()
    Coverage.objects.filter(pk=bad.pk).update(member_id=BAD_MBI, updated_at=timezone.now())
    third = finding()
    assert (third.passed, third.count, third.sample_ids) == (False, 1, [str(bad.pk)])
    assert third.detail == "1 of 1 Medicare member IDs invalid (those changed since the last run)."
    # After a failed run, the next is a full pass again (the bad row is still counted).
    fourth = finding()
    assert fourth.detail == "1 of 3 Medicare member IDs invalid."
    assert fourth.full_pass_at == fourth.run.started_at


def test_a_write_that_bypasses_updated_at_is_caught_by_the_next_full_pass(company, settings):
    CoverageFactory.create_batch(2, company=company)
    assert finding().passed
    bad = Coverage.objects.order_by("pk").first()
    # A restore or a raw UPDATE: the value changes, updated_at does not.
    Coverage.objects.filter(pk=bad.pk).update(
        member_id=BAD_MBI, updated_at=timezone.now() - timedelta(days=30)
    )
    assert finding().passed  # incremental: not seen yet
    settings.DATA_QUALITY_FULL_PASS_DAYS = 0  # the full pass is due
    caught = finding()
    assert (caught.count, caught.sample_ids) == (1, [str(bad.pk)])
    assert caught.detail == "1 of 2 Medicare member IDs invalid."


def test_each_finding_records_its_time(company):
    CoverageFactory(company=company)
    assert finding().duration_ms >= 0
    run = run_checks()
    assert run.findings.count() == run.checks_run
    assert all(f.duration_ms is not None for f in run.findings.all())
