"""Bill every rental month due (what the daily task does), for an operator."""

import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from hme import services


def iso_date(value):
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--as-of takes a date as 2026-03-31; got {value!r}.") from None


class Command(BaseCommand):
    help = (
        "Bill every active rental's months due on or before --as-of (default today), each "
        "month once; caps rentals at 13 months (oxygen 36). Safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--as-of", type=iso_date, help="Bill months due on or before this date."
        )

    def handle(self, *args, **options):
        as_of = options["as_of"] or timezone.localdate()
        if isinstance(as_of, str):  # call_command(..., as_of="2026-03-31") skips argparse
            as_of = iso_date(as_of)
        if as_of > timezone.localdate():
            raise CommandError("--as-of cannot be in the future: months are billed once due.")
        run = services.bill_rental_months(as_of=as_of)
        for claim in run.claims:
            self.stdout.write(f"  {claim.number}: rental month {claim.rental_month}")
        for _, message in run.errors:
            self.stderr.write(f"  {message}")
        if run.errors:
            raise CommandError(run.summary())
        self.stdout.write(self.style.SUCCESS(run.summary()))
