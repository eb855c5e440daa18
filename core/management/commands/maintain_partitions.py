from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from core.partitions import drop_expired_partitions, ensure_partitions


class Command(BaseCommand):
    help = (
        "PostgreSQL: create the trails' monthly partitions of this month and the next three, "
        "and drop those whose month ended more than six years ago (45 CFR 164.316(b)(2)(i)); "
        "the daily task core.tasks.maintain_partitions does the same. Run as the tables' "
        "owner (DDL) where the processes log in as a role that owns nothing."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            created = ensure_partitions()
            dropped = drop_expired_partitions()
        except DatabaseError as exc:
            # Catalogue names only (no row data): the likely cause is a role that owns nothing.
            raise CommandError(
                f"partition upkeep failed: {str(exc).splitlines()[0]} (run it as the tables' owner)"
            ) from None
        names = f": {', '.join(dropped)}" if dropped else ""
        self.stdout.write(f"Partitions: {created} created, {len(dropped)} dropped{names}.")
