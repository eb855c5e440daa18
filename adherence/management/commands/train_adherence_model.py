"""Train the PAP non-adherence model on a company's own outcomes."""

from django.core.management.base import BaseCommand, CommandError

from adherence import ml
from core.exceptions import ServiceError

from ._company import companies_from


class Command(BaseCommand):
    help = (
        "Train the day-14 PAP non-adherence model (scikit-learn) on each company's rentals "
        "whose 90-day adherence outcome is known; report held-out accuracy and AUC; "
        "register it in the AI model registry (the previous version is deactivated)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--company", action="append", help="Company id (repeatable; default: every active)."
        )
        parser.add_argument("--seed", type=int, default=0, help="Seed of the held-out split.")

    def handle(self, *args, **options):
        companies = companies_from(options["company"])
        trained, failures = 0, []
        for company in companies:
            try:
                result = ml.train(company, seed=options["seed"])
            except ServiceError as exc:
                failures.append(f"{company.name}: {exc.message}")
                continue
            trained += 1
            self.stdout.write(f"  {company.name}: {result.summary()}")
        for failure in failures:
            self.stderr.write(f"  {failure}")
        summary = f"Trained {trained} of {len(companies)} compan(ies)."
        if options["company"] and failures:
            raise CommandError(summary + " " + failures[0])
        self.stdout.write(self.style.SUCCESS(summary))
