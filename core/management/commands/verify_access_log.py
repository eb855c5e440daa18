import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from core.access import chain_keys, verify_chain
from core.backups.progress import plain_stream
from core.choices import ComplianceKind
from core.compliance import record_event
from core.models import AccessLog


class Command(BaseCommand):
    help = (
        "Verify the access log's hash chains (45 CFR 164.312(c)(1)): every row unchanged "
        "and none missing. Exits 1 naming each broken row, and records an "
        "ACCESS_LOG_TAMPERED compliance event per broken chain."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--company", help="Verify this company's chain only (its id).")
        parser.add_argument("--batch-size", type=int, default=2000)

    def handle(self, *args: Any, company: str | None, batch_size: int, **options: Any) -> None:
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        keys: list[uuid.UUID | None]
        if company is not None:
            try:
                keys = [uuid.UUID(company)]
            except ValueError:
                raise CommandError(
                    f"--company must be a company id (a UUID), not {company!r}."
                ) from None
        else:
            keys = chain_keys()
        total = AccessLog.objects.filter(company_id__in=[k for k in keys if k]).count() + (
            AccessLog.objects.filter(company_id__isnull=True).count() if None in keys else 0
        )
        broken, first_row = 0, None
        with tqdm(total=total, unit="row", disable=None, file=plain_stream(self.stderr)) as bar:
            for key in keys:
                problems = verify_chain(key, batch_size=batch_size, progress=bar.update)
                if not problems:
                    continue
                broken += len(problems)
                first_row = first_row or problems[0].row_id
                for problem in problems:
                    self.stderr.write(f"Company {key or '-'}: {problem}")
                record_event(
                    ComplianceKind.ACCESS_LOG_TAMPERED,
                    company=key,
                    detail={
                        "problems": len(problems),
                        "changed": sorted(
                            p.row_id for p in problems if p.kind == "changed" and p.row_id
                        )[:50],
                        "missing_before": sorted(
                            p.row_id for p in problems if p.kind == "missing" and p.row_id
                        )[:50],
                    },
                )
        if broken:
            raise CommandError(
                f"The access log failed verification: {broken} problem(s), first at row "
                f"{first_row}."
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Access log verified: {total} rows in {len(keys)} chain(s), none changed "
                "or missing."
            )
        )
