"""``manage.py refresh_dashboards``: what the beat task does, for an operator."""

import uuid

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Company
from cockpit.services import refresh_snapshots


class Command(BaseCommand):
    help = (
        "Recompute the dashboards' stored figures (key figures, possible duplicates, "
        "delivered not billed, pickups due) of every active company, or of --company. "
        "Safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--company", action="append", default=[], help="Only this company (its id)."
        )

    def handle(self, *args, **options):
        companies = Company.objects.filter(is_active=True).order_by("name")
        if options["company"]:
            try:
                ids = [uuid.UUID(value) for value in options["company"]]
            except ValueError:
                raise CommandError("--company takes a company id (a UUID).") from None
            companies = companies.filter(pk__in=ids)
            if len(companies) != len(set(ids)):
                raise CommandError("No active company has that id.")
        run = refresh_snapshots(companies)
        if run.failed:
            raise CommandError(run.summary())
        self.stdout.write(run.summary())
