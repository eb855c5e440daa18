from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from core.backups.progress import plain_stream
from core.keys import blind_indexed_models, reindex_model


class Command(BaseCommand):
    help = (
        "Recompute every blind index under the current BLIND_INDEX_KEY (run after changing "
        "the key). Resumable: rows whose index is already right are not written."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args: Any, batch_size: int, **options: Any) -> None:
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        models = blind_indexed_models()
        total = sum(model._base_manager.count() for model, _ in models)
        updated = 0
        with tqdm(total=total, unit="row", disable=None, file=plain_stream(self.stderr)) as bar:
            for model, indexes in models:
                bar.set_description(model._meta.label)
                updated += reindex_model(model, indexes, batch_size=batch_size, progress=bar.update)
        self.stdout.write(
            self.style.SUCCESS(
                f"Re-indexed {updated} rows in {len(models)} tables ({total} rows checked)."
            )
        )
