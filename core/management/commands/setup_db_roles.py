"""Create the PostgreSQL roles and grants and put row-level security on the tenant tables."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

from core import rls


class Command(BaseCommand):
    help = (
        "Create the app role (DATABASE_APP_ROLE), the read-only reporting roles and their "
        "grants, and enable row-level security with its policy on every tenant table. "
        "Idempotent; run as the tables' owner (docs/security/rls.md)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)
        parser.add_argument(
            "--print-sql", action="store_true", help="print the statements, run nothing"
        )

    def handle(self, *args: Any, database: str = DEFAULT_DB_ALIAS, **options: Any) -> None:
        connection = connections[database]
        if connection.vendor != "postgresql":
            raise CommandError("Row-level security needs PostgreSQL (DATABASE_URL).")
        if options["print_sql"]:
            for statement in rls.statements(connection):
                self.stdout.write(f"{statement};")
            return
        try:
            tables = rls.apply(connection)
        except DatabaseError as exc:
            # The server's message names a role or a table, never a row's values.
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc)
            raise CommandError(f"Could not set up the roles: {first_line}") from exc
        role = rls.app_role() or "(none: DATABASE_APP_ROLE is empty, RLS stays off)"
        self.stdout.write(
            f"Row-level security on {tables} tenant tables; app role {role}; "
            f"reporting roles {', '.join(rls.REPORT_ROLES)} and {rls.REPORT_ALL_ROLE}."
        )
