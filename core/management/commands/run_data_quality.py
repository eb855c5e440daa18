from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from core.backups.progress import plain_stream
from core.context import acting_as
from core.quality import get_checks
from core.quality.registry import Severity
from core.quality.runner import run_checks


class Command(BaseCommand):
    help = (
        "Run the data-quality checks (all, or those named with --check), store the run and "
        "print a table. Exits 1 when a check of error severity fails."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--check", action="append", dest="checks", metavar="NAME", help="repeatable"
        )
        parser.add_argument(
            "--list", action="store_true", dest="list_checks", help="list the checks and exit"
        )

    def handle(
        self, *args: Any, checks: list[str] | None = None, list_checks: bool = False, **options: Any
    ) -> None:
        try:
            selected = get_checks(checks)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if list_checks:
            for check in selected:
                self.stdout.write(f"{check.name:<45} {check.severity:<8} {check.description}")
            self.stdout.write(f"{len(selected)} checks.")
            return
        with (
            acting_as(None),
            tqdm(
                total=len(selected), unit="check", disable=None, file=plain_stream(self.stderr)
            ) as bar,
        ):
            run = run_checks(
                [c.name for c in selected] if checks else None,
                triggered_by="command",
                progress=lambda check: bar.update(1),
            )
        findings = list(run.findings.order_by("check_name"))
        width = max((len(f.check_name) for f in findings), default=10)
        self.stdout.write(
            f"{'check':<{width}}  {'severity':<8}  {'result':<6}  {'count':>9}  detail"
        )
        for finding in findings:
            result = "ok" if finding.passed else "FAIL"
            self.stdout.write(
                f"{finding.check_name:<{width}}  {finding.severity:<8}  {result:<6}  "
                f"{finding.count:>9}  {finding.detail}"
            )
        duration = run.duration.total_seconds() if run.duration else 0.0
        summary = (
            f"Data-quality run {run.pk}: {run.checks_run} checks, {run.failed_errors} errors, "
            f"{run.failed_warnings} warnings failed, in {duration:.1f} s."
        )
        if run.failed_errors:
            failing = ", ".join(
                f.check_name for f in findings if not f.passed and f.severity == Severity.ERROR
            )
            raise CommandError(f"{summary} Failing: {failing}.")
        self.stdout.write(self.style.SUCCESS(summary))
