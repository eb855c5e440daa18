"""Import PAP nightly usage exports (CSV) for a company: one file per rental."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError
from tqdm import tqdm

from adherence import services
from adherence.choices import UsageSource
from core.exceptions import ServiceError

from ._company import companies_from


class Command(BaseCommand):
    help = (
        "Import nightly usage exports (ResMed AirView, Philips Care Orchestrator: CSV, one "
        "row a night) into the company's PAP rentals, matched by the device serial number "
        "or patient number the file names (or --serial / --patient). A file with a bad "
        "line is refused whole, with the line number. Safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", help="CSV export file(s).")
        parser.add_argument("--company", action="append", help="Company id (a UUID).")
        parser.add_argument("--serial", default="", help="Device serial number (one file).")
        parser.add_argument("--patient", default="", help="Patient number, P-... (one file).")
        parser.add_argument("--source", choices=UsageSource.values, default="")

    def handle(self, *args, **options):
        companies = companies_from(options["company"], required=True)
        if len(companies) != 1:
            raise CommandError("Give one --company.")
        company = companies[0]
        files = [Path(name) for name in options["files"]]
        if (options["serial"] or options["patient"]) and len(files) > 1:
            raise CommandError("--serial and --patient name one device: give one file.")
        nights = failed = 0
        for path in tqdm(files, desc="usage files", disable=None, leave=False):
            try:
                data = path.read_bytes()
            except OSError as exc:
                self.stderr.write(f"  {path.name}: cannot be read ({exc.strerror}).")
                failed += 1
                continue
            try:
                result = services.import_usage(
                    company,
                    data,
                    serial=options["serial"],
                    patient_reference=options["patient"],
                    source=options["source"],
                )
            except (ServiceError, DatabaseError) as exc:
                self.stderr.write(f"  {path.name}: {getattr(exc, 'message', exc)}")
                failed += 1
                continue
            nights += result.rows
            self.stdout.write(f"  {path.name}: {result.summary()}")
        summary = f"{len(files) - failed} of {len(files)} file(s) imported, {nights} night(s)."
        if failed:
            raise CommandError(summary)
        self.stdout.write(self.style.SUCCESS(summary))
