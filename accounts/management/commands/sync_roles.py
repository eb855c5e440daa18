from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.roles import sync_roles


class Command(BaseCommand):
    help = "Create the role groups and reset their permissions to accounts/roles.py."

    def handle(self, *args, **options):
        with transaction.atomic():
            counts = sync_roles()
        for name, count in counts.items():
            self.stdout.write(f"  {name:<14} {count:>4} permissions")
        self.stdout.write(self.style.SUCCESS(f"Synced {len(counts)} roles."))
