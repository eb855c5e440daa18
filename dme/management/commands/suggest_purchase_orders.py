"""Propose draft purchase orders for stock at or below its reorder point."""

import uuid

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from accounts.models import Company
from core.exceptions import ServiceError
from dme import services


class Command(BaseCommand):
    help = (
        "Draft purchase orders, one per preferred vendor and location, for every stock "
        "level at or below its reorder point (free stock plus what open purchase orders "
        "still bring). Safe to run again: drafts count as on order."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--company", action="append", help="Company id (repeatable; default: every active)."
        )

    def handle(self, *args, **options):
        companies = Company.objects.filter(is_active=True)
        if options["company"]:
            try:
                ids = [uuid.UUID(str(value)) for value in options["company"]]
            except ValueError:
                raise CommandError("--company takes a company id (a UUID).") from None
            companies = Company.objects.filter(pk__in=ids)
            if companies.count() != len(set(ids)):
                raise CommandError("No company with that id.")
        created = lines = unsourced = 0
        for company in companies.order_by("name"):

            def bar(levels, name=company.name):
                return tqdm(levels, total=levels.count(), desc=name, disable=None, leave=False)

            try:
                run = services.suggest_purchase_orders(company, progress=bar)
            except (ServiceError, ValidationError) as error:
                raise CommandError(f"{company.name}: {getattr(error, 'message', error)}") from None
            for po in run.created:
                self.stdout.write(f"  {company.name}: {po.number} to {po.vendor} for {po.location}")
            created, lines = created + len(run.created), lines + run.lines
            unsourced += len(run.without_vendor)
        summary = f"{created} purchase order(s) suggested with {lines} line(s)"
        if unsourced:
            summary += f"; {unsourced} item(s) have no preferred vendor"
        self.stdout.write(self.style.SUCCESS(summary + "."))
