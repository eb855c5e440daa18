"""Load the demo data: each app adds its part.

Each installed app may have a ``demo.py`` with ``seed(context)``; it is called in
INSTALLED_APPS order with a :class:`DemoContext`. accounts' comes first and fills in
the demo company, its locations and one user per role; the apps after it add their
records to that company. Running the command again creates nothing twice.

``--scale N`` then makes sure the demo company has at least N patients: each app's
``demo_scale.py`` adds, with ``seed_scale(context, plan)``, its rows for the patients
missing (see ``core.seeding``). Running it again with the same N adds nothing; with a
bigger N it tops up. The app that owns patients reports how many the company has
through ``patient_count(context)`` in its ``demo_scale.py`` (core imports no domain app).
"""

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import import_module
from types import ModuleType
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, transaction

from core.backups.errors import first_line
from core.context import acting_as
from core.exceptions import ServiceError
from core.seeding import BulkLoad, CopyPipeline, ScalePlan, analyze, collector_paused, copy_pipeline

DEMO_PASSWORD = "aries-demo-2026"
NO_COMPANY = "No installed app seeded the demo company (accounts' demo.py comes first)."


@dataclass
class DemoContext:
    stdout: Any
    # accounts' Company, Location and User rows: core cannot name accounts' models.
    company: Any = None  # set by accounts' demo
    locations: list[Any] = field(default_factory=list)
    users: dict[str, Any] = field(default_factory=dict)  # role -> User
    password: str = DEMO_PASSWORD
    stderr: Any = None
    scale: int = 0
    created: dict[str, int] = field(default_factory=dict)  # label -> count, for the summary
    bulk: BulkLoad | None = None  # the scale run's tables (core.seeding.insert)
    copies: CopyPipeline | None = None  # its COPYs' writer thread (core.seeding.insert)

    def count(self, label: str, number: int) -> None:
        self.created[label] = self.created.get(label, 0) + number


class Command(BaseCommand):
    help = "Create (or complete) the demo company with users for every role and demo data."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="Run even with DEBUG off (demo users have a published password).",
        )
        parser.add_argument(
            "--scale",
            type=_scale,
            default=0,
            metavar="N",
            help="Then make sure the demo company has at least N patients, adding the "
            "missing ones in bulk with proportional orders, deliveries, rentals, "
            "coverage, claims and payments (benchmarks). Again with the same N: nothing "
            "is added; with a bigger N: it tops up. 0: the normal demo only.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        if not settings.DEBUG and not options["allow_production"]:
            raise CommandError(
                "Refusing to create demo users with a published password while DEBUG is "
                "off; pass --allow-production for a staging site."
            )
        context = DemoContext(stdout=self.stdout)
        with transaction.atomic(), acting_as(None):
            for index, module in enumerate(_app_modules("demo")):
                # The first app's demo (accounts') makes the company the others fill.
                if index and context.company is None:
                    raise CommandError(NO_COMPANY)
                module.seed(context)
            if context.company is None:
                raise CommandError(NO_COMPANY)
        self.stdout.write(f"Demo users (password for all: {DEMO_PASSWORD}):")
        for role, user in context.users.items():
            self.stdout.write(f"  {role:<14} {user.email}")
        summary = ", ".join(f"{n} {label}" for label, n in context.created.items()) or "nothing new"
        self.stdout.write(
            self.style.SUCCESS(f"Demo data ready for {context.company.name}: {summary}.")
        )
        if options["scale"]:
            self.scale(context, options["scale"], started)

    def scale(self, context: DemoContext, target: int, started: float) -> None:
        """The bulk part, in one transaction: all of it is saved, or none."""
        context.created = {}
        context.stderr = self.stderr
        # Seeded by the company's name: the same N draws the same patients, orders and
        # claims on any machine (their dates are relative to today).
        plan = ScalePlan(target=target, seed=context.company.name)
        try:
            with transaction.atomic(), acting_as(None), collector_paused():
                context.bulk = BulkLoad(plan)
                with copy_pipeline() as context.copies:
                    for module in _app_modules("demo_scale"):
                        module.seed_scale(context, plan)
                        # The apps after it read its rows: with fresh statistics.
                        context.bulk.analyze_loaded()
                context.copies = None
                context.bulk.finish()
        except (DatabaseError, ServiceError) as exc:
            raise CommandError(
                f"Scaling the demo to {target:,} patients failed; nothing of the bulk part "
                f"was saved. {type(exc).__name__}: {first_line(exc)}"
            ) from None
        if plan.count:
            analyze()
        total = _patient_count(context)
        elapsed = _duration(time.monotonic() - started)
        if not plan.count:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Scale: {context.company.name} already has {total:,} patients "
                    f"(at least {target:,}); nothing added, in {elapsed}."
                )
            )
            return
        rows = sum(context.created.values())
        summary = ", ".join(f"{n:,} {label}" for label, n in context.created.items())
        self.stdout.write(
            self.style.SUCCESS(
                f"Scale: {context.company.name} has {total:,} patients; added {rows:,} rows "
                f"in {elapsed}: {summary}."
            )
        )


def _scale(value: str) -> int:
    from argparse import ArgumentTypeError

    try:
        number = int(value)
    except ValueError:
        raise ArgumentTypeError(f"--scale takes a number of patients, not {value!r}.") from None
    if number < 0:
        raise ArgumentTypeError("--scale takes a number of patients of 0 or more.")
    return number


def _app_modules(name: str) -> Iterator[ModuleType]:
    """Each installed app's ``<app>.<name>`` module, in INSTALLED_APPS order."""
    for app_config in apps.get_app_configs():
        try:
            yield import_module(f"{app_config.name}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{app_config.name}.{name}":
                raise


def _patient_count(context: DemoContext) -> int:
    """The demo company's patients, as counted by the apps that hold them."""
    return sum(
        module.patient_count(context)
        for module in _app_modules("demo_scale")
        if hasattr(module, "patient_count")
    )


def _duration(seconds: float) -> str:
    minutes, seconds = divmod(seconds, 60)
    return f"{int(minutes)} min {seconds:.0f} s" if minutes else f"{seconds:.1f} s"
