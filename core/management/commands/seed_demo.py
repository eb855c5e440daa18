"""Load the demo company, its locations and one user per role; apps add their part.

Each installed app may have a ``demo.py`` with ``seed(context)``; it is called in
INSTALLED_APPS order with a :class:`DemoContext`. Running the command again creates
nothing twice.
"""

from dataclasses import dataclass, field
from importlib import import_module

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from core.context import acting_as

DEMO_PASSWORD = "aries-demo-2026"


@dataclass
class DemoContext:
    company: object
    locations: list
    users: dict  # role -> User
    stdout: object
    scale: int = 0
    created: dict = field(default_factory=dict)  # label -> count, for the summary

    def count(self, label, number):
        self.created[label] = self.created.get(label, 0) + number


class Command(BaseCommand):
    help = "Create (or complete) the demo company with users for every role and demo data."

    def add_arguments(self, parser):
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="Run even with DEBUG off (demo users have a published password).",
        )

    def handle(self, *args, **options):
        if not settings.DEBUG and not options["allow_production"]:
            raise CommandError(
                "Refusing to create demo users with a published password while DEBUG is "
                "off; pass --allow-production for a staging site."
            )
        with transaction.atomic(), acting_as(None):
            context = self.seed_accounts()
            for app_config in apps.get_app_configs():
                try:
                    module = import_module(f"{app_config.name}.demo")
                except ModuleNotFoundError as exc:
                    if exc.name != f"{app_config.name}.demo":
                        raise
                    continue
                module.seed(context)
        self.stdout.write(f"Demo users (password for all: {DEMO_PASSWORD}):")
        for role, user in context.users.items():
            self.stdout.write(f"  {role:<14} {user.email}")
        summary = ", ".join(f"{n} {label}" for label, n in context.created.items()) or "nothing new"
        self.stdout.write(
            self.style.SUCCESS(f"Demo data ready for {context.company.name}: {summary}.")
        )

    def seed_accounts(self):
        from accounts.choices import LocationKind, Role
        from accounts.models import Company, Location, Membership, User

        company, _ = Company.objects.get_or_create(
            name="Aries Demo Medical Supply",
            defaults={
                "legal_name": "Aries Demo Medical Supply LLC",
                "npi": "1558598797",
                "phone": "(614) 555-0100",
            },
        )
        locations = []
        for name, kind, address, city in [
            ("Columbus Main Office", LocationKind.OFFICE, "100 E Broad St", "Columbus"),
            ("Groveport Warehouse", LocationKind.WAREHOUSE, "4500 Groveport Rd", "Groveport"),
        ]:
            location, _ = Location.objects.get_or_create(
                company=company,
                name=name,
                defaults={
                    "kind": kind,
                    "address_line1": address,
                    "city": city,
                    "state": "OH",
                    "postal_code": "43215",
                    "phone": "(614) 555-0101",
                },
            )
            locations.append(location)
        users = {}
        for role in Role:
            email = f"{role.value}@demo.ariesone.test"
            user = User.objects.filter(email=email).first()
            if user is None:
                user = User.objects.create_user(
                    email,
                    DEMO_PASSWORD,
                    first_name=role.label,
                    last_name="Demo",
                    is_staff=True,
                )
            Membership.objects.get_or_create(user=user, company=company, defaults={"role": role})
            users[role.value] = user
        return DemoContext(company=company, locations=locations, users=users, stdout=self.stdout)
