"""Running the registered checks and storing what they find."""

import logging
import time
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.utils import timezone

from .models import DataQualityFinding, DataQualityRun, RunStatus
from .registry import Check, Outcome, Severity, get_checks

logger = logging.getLogger(__name__)
SAMPLE_SIZE = 10

# The check being evaluated and its run's start: what an incremental check reads to
# find its previous findings (core.quality.checks.invalid_values).
current_check: ContextVar[tuple[str, Any] | None] = ContextVar("dq_current_check", default=None)


def _evaluate(check: Check, run: DataQualityRun) -> tuple[int, list[str], str, Any]:
    """Run one check: ``(count, sample ids, detail, full pass time)``. Querysets are
    counted in SQL."""
    token = current_check.set((check.name, run.started_at))
    try:
        result = check.function()
    finally:
        current_check.reset(token)
    if isinstance(result, models.QuerySet):
        count = result.count()
        samples = (
            [str(pk) for pk in result.order_by("pk").values_list("pk", flat=True)[:SAMPLE_SIZE]]
            if count
            else []
        )
        return count, samples, "", None
    if isinstance(result, Outcome):
        samples = [str(pk) for pk in result.sample_ids[:SAMPLE_SIZE]]
        return result.count, samples, result.detail, result.full_pass_at
    raise TypeError(
        f"Check {check.name} returned {type(result).__name__}, not a QuerySet or Outcome."
    )


def run_checks(
    names: Iterable[str] | None = None,
    *,
    triggered_by: str = "",
    requested_by: Any = None,
    progress: Callable[[Check], object] | None = None,
) -> DataQualityRun:
    """Run the checks (all, or those named) and return the stored DataQualityRun.

    A check that crashes is recorded as a failed finding with the exception's type and
    does not stop the others.
    """
    checks = get_checks(names)
    run = DataQualityRun.objects.create(triggered_by=triggered_by, requested_by=requested_by)
    findings = []
    for check in checks:
        started = time.monotonic()
        try:
            # A savepoint per check: inside an outer transaction, a check whose SQL
            # fails on PostgreSQL must not abort the transaction for the others.
            with transaction.atomic():
                count, samples, detail, full_pass_at = _evaluate(check, run)
        except Exception as exc:  # a broken check is itself a finding
            logger.exception("Data-quality check %s crashed", check.name)
            count, samples, detail = 0, [], f"The check crashed: {type(exc).__name__}."
            full_pass_at = None
            passed = False
        else:
            passed = count == 0
        findings.append(
            DataQualityFinding(
                run=run,
                check_name=check.name,
                description=check.description[:300],
                severity=check.severity,
                passed=passed,
                count=count,
                sample_ids=samples,
                content_type=(
                    ContentType.objects.get_for_model(check.model) if check.model else None
                ),
                detail=detail[:500],
                duration_ms=round((time.monotonic() - started) * 1000),
                full_pass_at=full_pass_at,
            )
        )
        if progress is not None:
            progress(check)
    failed = [f for f in findings if not f.passed]
    run.checks_run = len(findings)
    run.failed_errors = sum(1 for f in failed if f.severity == Severity.ERROR)
    run.failed_warnings = sum(1 for f in failed if f.severity == Severity.WARNING)
    run.status = (
        RunStatus.FAILED
        if run.failed_errors
        else RunStatus.WARNINGS
        if run.failed_warnings
        else RunStatus.PASSED
    )
    run.finished_at = timezone.now()
    with transaction.atomic():
        DataQualityFinding.objects.bulk_create(findings)
        run.save()
    return run
