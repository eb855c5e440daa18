"""The daily adherence run (what the Celery task does), for an operator."""

import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from adherence import services


def iso_date(value):
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--as-of takes a date as 2026-03-31; got {value!r}.") from None


class Command(BaseCommand):
    help = (
        "Re-evaluate every open PAP rental against the adherence rule, predict at day 14, "
        "and write actual outcomes back into the prediction log. Safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument("--as-of", type=iso_date, help="Evaluate as of this date.")

    def handle(self, *args, **options):
        as_of = options["as_of"] or timezone.localdate()
        if isinstance(as_of, str):
            as_of = iso_date(as_of)
        if as_of > timezone.localdate():
            raise CommandError("--as-of cannot be in the future.")
        run = services.run_daily(as_of=as_of)
        self.stdout.write(self.style.SUCCESS(run.summary()))
