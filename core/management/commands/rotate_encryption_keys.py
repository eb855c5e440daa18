from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from core.backups.progress import plain_stream
from core.choices import ComplianceKind
from core.compliance import record_event
from core.keys import KeyRotationError, encrypted_tables, rotate_table


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted column under the newest FIELD_ENCRYPTION_KEY. "
        "Resumable: values already under the newest key are skipped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args: Any, batch_size: int, **options: Any) -> None:
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        tables = encrypted_tables()
        total_rows = sum(model._default_manager.count() for model, _ in tables)
        rotated = 0
        with tqdm(
            total=total_rows, unit="row", disable=None, file=plain_stream(self.stderr)
        ) as bar:
            for model, columns in tables:
                bar.set_description(model._meta.label)
                try:
                    result = rotate_table(
                        model, columns, batch_size=batch_size, progress=bar.update
                    )
                except KeyRotationError as exc:
                    raise CommandError(str(exc)) from exc
                rotated += result.values_rotated
        # The compliance log keeps every rotation (45 CFR 164.312(a)(2)(iv), encryption).
        record_event(
            ComplianceKind.KEY_ROTATION,
            detail={"values_rotated": rotated, "tables": len(tables), "rows": total_rows},
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Re-encrypted {rotated} values in {len(tables)} tables "
                f"({total_rows} rows checked) under the newest key."
            )
        )
