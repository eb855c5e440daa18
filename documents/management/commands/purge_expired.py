"""``manage.py purge_expired [--dry-run] [--as-of YYYY-MM-DD]``: remove what is past
its retention end and under no legal hold (documents with their files, fax intakes,
signing requests, audit entries); write one purge record (ids and counts, no PHI)."""

import datetime

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from core.context import acting_as
from documents.services import plan_purge, purge


class Command(BaseCommand):
    help = "Remove records past their retention end and not under a legal hold."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="List, remove nothing.")
        parser.add_argument("--as-of", help="Retention as of this day (default: today).")

    def handle(self, *args, **options):
        as_of = None
        if options["as_of"]:
            try:
                as_of = datetime.date.fromisoformat(options["as_of"])
            except ValueError:
                raise CommandError("--as-of takes a date as YYYY-MM-DD.") from None
        with tqdm(desc="checking retention", unit=" records", disable=None) as bar:
            plan = plan_purge(as_of, progress=bar.update)
        counts = plan.counts
        for kind, ids in sorted(plan.due.items()):
            for pk in ids:
                self.stdout.write(f"{kind} {pk}")
        summary = ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items())) or "nothing"
        held = sum(plan.held.values())
        if options["dry_run"]:
            self.stdout.write(
                f"Dry run as of {plan.as_of}: would remove {summary}; "
                f"{held} kept under a legal hold."
            )
            return
        with acting_as(None):
            record = purge(plan)
        if record is None:
            self.stdout.write(
                f"As of {plan.as_of}: nothing to remove; {held} kept under a legal hold."
            )
            return
        removed = ", ".join(f"{n} {kind}" for kind, n in sorted(record.counts.items()))
        self.stdout.write(
            f"Removed {removed} (purge record {record.pk}); "
            f"{record.held_skipped} kept under a legal hold."
        )
