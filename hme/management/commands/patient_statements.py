"""``manage.py patient_statements``: make this month's patient statements."""

import datetime

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from accounts.models import Company
from core.exceptions import ServiceError
from hme.services.statements import open_patient_shares, run_statements


class Command(BaseCommand):
    help = (
        "Make one PDF statement per patient with an open patient-responsibility balance "
        "(each company, or --company), recorded as a statement run."
    )

    def add_arguments(self, parser):
        parser.add_argument("--company", help="Only this company (its id).")
        parser.add_argument(
            "--as-of", type=datetime.date.fromisoformat, help="Statement date (YYYY-MM-DD)."
        )

    def handle(self, *args, **options):
        companies = Company.objects.filter(is_active=True).order_by("name")
        if options["company"]:
            try:
                companies = companies.filter(pk=options["company"])
            except (ValueError, ServiceError):
                raise CommandError("--company takes a company id.") from None
            if not companies.exists():
                raise CommandError("No active company has that id.")
        statements = lines = 0
        total = 0
        for company in companies:
            due = len(open_patient_shares(company))
            with tqdm(total=due, desc=company.name[:30], unit="statement") as bar:
                try:
                    run = run_statements(company, as_of=options["as_of"], progress=bar.update)
                except ServiceError as error:
                    raise CommandError(error.message) from None
            statements += run.statements_count
            lines += run.lines_count
            total += run.total_due
        self.stdout.write(
            f"{statements} statement(s), {lines} line(s), ${total:,.2f} due, "
            f"{companies.count()} company(ies)."
        )
